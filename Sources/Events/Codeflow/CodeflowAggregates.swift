/// Codeflows: keys "codeflow/<name>".
public enum CodeflowAggregate: AggregateKind {
    public static let kind = "codeflow"
    public static let commandTypes: [any CommandPayload.Type] = [PutCodeflow.self]
    public static let eventTypes: [any EventPayload.Type] = [CodeflowDefined.self]
}

/// Builds: keys "build/<id>", queued -> running -> succeeded | failed, or cancelled.
public enum BuildAggregate: AggregateKind {
    public static let kind = "build"
    public static let commandTypes: [any CommandPayload.Type] = [RequestBuild.self, StartBuild.self, FinishBuild.self, CancelBuild.self]
    public static let eventTypes: [any EventPayload.Type] = [BuildQueued.self, BuildStarted.self, BuildSucceeded.self, BuildFailed.self,
                                                             BuildCancelled.self]
}

/// Webhook deliveries that built nothing: keys "webhook/<provider>-<delivery>".
public enum WebhookAggregate: AggregateKind {
    public static let kind = "webhook"
    public static let commandTypes: [any CommandPayload.Type] = [RecordWebhookIgnored.self]
    public static let eventTypes: [any EventPayload.Type] = [WebhookIgnored.self]
}

extension AggregateKey {
    public static func codeflow(_ name: String) -> String { "\(CodeflowAggregate.kind)/\(name)" }
    public static func build(_ id: String) -> String { "\(BuildAggregate.kind)/\(id)" }
    public static func webhook(provider: String, delivery: String) -> String { "\(WebhookAggregate.kind)/\(provider)-\(delivery)" }
}
