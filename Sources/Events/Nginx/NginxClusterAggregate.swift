/// Nginx clusters on the wire: keys "nginx-cluster/<name>".
public enum NginxClusterAggregate: AggregateKind {
    public static let kind = "nginx-cluster"
    public static let commandTypes: [any CommandPayload.Type] = [
        CreateNginxCluster.self, AddNginxNode.self, RemoveNginxNode.self, PutNginxUpstream.self, DeleteNginxUpstream.self,
        PutNginxSite.self, DeleteNginxSite.self, RollbackNginxConfig.self, SyncNginxServiceMembers.self,
        RecordNginxValidation.self, RecordNginxNodeReport.self,
    ]
    public static let eventTypes: [any EventPayload.Type] = [
        NginxClusterCreated.self, NginxNodeAdded.self, NginxNodeRemoved.self, NginxUpstreamPut.self, NginxUpstreamDeleted.self,
        NginxSitePut.self, NginxSiteDeleted.self, NginxConfigRolledBack.self, NginxServiceMembersSynced.self,
        NginxConfigVersionCreated.self, NginxConfigValidated.self, NginxNodeReported.self,
    ]
}

extension AggregateKey {
    public static func nginxCluster(_ name: String) -> String { "\(NginxClusterAggregate.kind)/\(name)" }
}
