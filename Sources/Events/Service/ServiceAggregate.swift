/// Services on the wire: keys "service/<name>".
public enum ServiceAggregate: AggregateKind {
    public static let kind = "service"
    public static let commandTypes: [any CommandPayload.Type] = [
        CreateService.self, UpdateServiceConfig.self, UpgradeServiceImage.self, ScaleService.self,
        RollbackService.self, DestroyService.self, SetServiceAddresses.self, RevealServiceSecret.self, SetServicePlacement.self,
        RecordPlacementDecision.self, RecordServiceInstances.self, SetInstanceRotation.self,
        RecreateInstance.self, AddDebugContainer.self, ReadInstanceLogs.self, RecordInstanceOperation.self, RecordServiceRollout.self,
    ]
    public static let eventTypes: [any EventPayload.Type] = [
        ServiceCreated.self, ServiceConfigUpdated.self, ServiceImageUpgraded.self, ServiceScaled.self,
        ServiceRolledBack.self, ServiceDestroyed.self, ServiceAddressesSet.self, ServiceSecretRevealed.self, ServicePlacementSet.self,
        ServicePlacementDecided.self, ServiceInstancesObserved.self, ServicePlacementSettled.self, ServiceInstanceRotationSet.self,
        ServiceInstanceRecreateRequested.self, ServiceDebugContainerRequested.self, ServiceInstanceLogsRead.self, ServiceInstanceOperationFinished.self,
        ServiceRolloutObserved.self,
    ]
}

extension AggregateKey {
    public static func service(_ name: String) -> String { "\(ServiceAggregate.kind)/\(name)" }
}
