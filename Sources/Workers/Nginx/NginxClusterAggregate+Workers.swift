import EventLog
import Events
import Foundation

extension NginxClusterAggregate: FeatureWorkers {
    /// `nginx-sync` keeps upstream members in step with services; `nginx` runs `nginx -t` on every new version
    /// (only where an nginx binary is found, WHARF_NGINX or PATH).
    public static func reactors(_ c: WorkerContext) -> [any EventReactor] {
        var reactors: [any EventReactor] = [NginxServiceSync(log: c.log, queries: c.queries, logger: c.logger)]
        if let nginx = NginxCommandLine.find() {
            // Each check makes its own private directory here (mkdtemp); no fixed directory of ours under /tmp that
            // another user could create first.
            let scratch = FileManager.default.temporaryDirectory.path
            reactors.append(NginxConfigValidator(nginx: nginx, scratchRoot: scratch, logger: c.logger, signer: c.signer,
                                                 coverage: c.signer.map { SignedCoverage(log: c.log, publicKey: $0.privateKey.publicKey) }))
        } else {
            c.logger.warning("nginx not found on PATH: new Nginx config versions stay pending until a Wharf node with nginx validates them (set WHARF_NGINX)")
        }
        return reactors
    }
}
