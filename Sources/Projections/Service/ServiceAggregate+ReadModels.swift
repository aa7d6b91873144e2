import Events

extension ServiceAggregate: ProjectedAggregate {
    public static var readModels: [any ReadModel] { [ServiceReadModel(), SealedSecretEnvReadModel()] }
}
