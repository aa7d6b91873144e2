import Events

extension NginxClusterAggregate: ProjectedAggregate {
    public static var readModels: [any ReadModel] { [NginxReadModel()] }
}
