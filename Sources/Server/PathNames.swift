import Commands
import Hummingbird

extension WharfRequestContext {
    /// A name from the path that must be a DNS-1123 label (services, clusters, nodes, sites, upstreams). A name that
    /// is not one can never exist, so it is a 422 at the door rather than a 404. `description` names it in the
    /// message (default: the parameter's name).
    func dnsLabelParameter(_ parameter: String, describedAs description: String? = nil) throws -> String {
        let value = try parameters.require(parameter)
        guard ServiceValidation.isDNSLabel(value) else {
            throw APIError(.unprocessableContent, "\(description ?? parameter) must be a DNS-1123 label (got \"\(value.prefix(80))\")", field: parameter)
        }
        return value
    }
}
