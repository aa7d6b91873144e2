@testable import Commands
import Events
import Testing

/// Upstream and service addresses are IP literals, so no config Wharf renders makes nginx resolve a name.
@Suite struct NginxAddressTests {
    /// nginx resolves host names in `server` lines with blocking DNS while it loads a config; Wharf takes IPs only.
    @Test func upstreamAndServiceAddressesMustBeIPLiterals() {
        func upstream(_ address: String) -> Command {
            Command(PutNginxUpstream(cluster: "edge", upstream: NginxUpstream(name: "web", servers: [NginxUpstreamServer(address: address)])))
        }
        for ok in ["10.0.3.7:8080", "[fd00::7]:8080", "127.0.0.1:1"] {
            #expect(NginxValidation.validate(upstream(ok)).isEmpty, "\(ok)")
        }
        for name in ["app-vm.example.com:80", "localhost:8080", "db:5432"] {
            let errors = NginxValidation.validate(upstream(name))
            #expect(errors.map(\.field) == ["upstream.servers[0].address"], "\(name): \(errors)")
            #expect(errors.first?.message.contains("host names are refused") == true, "\(errors)")
        }
        let service = ServiceValidation.validate(Command(SetServiceAddresses(name: "cart", addresses: ["10.0.0.1:80", "cart-1.internal:80"])))
        #expect(service.map(\.field) == ["addresses[1]"] && service.first?.message.contains("host names are refused") == true, "\(service)")
        let sync = NginxValidation.validate(Command(SyncNginxServiceMembers(
            cluster: "edge", members: NginxServiceMembers(service: "cart", revision: 1, image: "r/cart:1", addresses: ["cart.svc:80"]))))
        #expect(sync.map(\.field) == ["members.addresses[0]"], "\(sync)")
        guard case .failure(let rejection) = NginxDecider.decide(upstream("app-vm.example.com:80"), state: nil) else {
            Issue.record("the decider must refuse a host name"); return
        }
        #expect(rejection.code == .invalid && rejection.reason.hasPrefix("upstream.servers[0].address: must be an IP address and port"), "\(rejection)")
    }
}
