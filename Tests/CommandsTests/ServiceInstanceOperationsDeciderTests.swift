import Commands
import Events
import Testing

/// Recreates, debug containers and log reads are decided against the pods last reported: only a running instance
/// may be acted on; a recreate or debug container stays pending until the cluster worker records its outcome, once.
@Suite struct ServiceInstanceOperationsDeciderTests {
    static let pods = [ServiceInstance(pod: "api-1", ip: "10.1.0.2", phase: "Running", ready: true),
                       ServiceInstance(pod: "api-2", ip: "10.1.0.3", phase: "Running", ready: true)]

    func running() -> ServiceFold {
        var fold = ServiceFold()
        _ = fold.decide(Command(CreateService(name: "api", businessLine: "pay", image: "reg.local/api:1", replicas: 2, ports: [ServicePort(containerPort: 8080)])))
        _ = fold.decide(Command(RecordServiceInstances(name: "api", cluster: "a", instances: Self.pods)))
        return fold
    }

    @Test func aRecreateIsPendingUntilItsOutcomeIsRecordedOnce() throws {
        var fold = running()
        #expect(fold.refusal(Command(RecreateInstance(name: "api", cluster: "a", pod: "api-9"))) == .notFound, "not an instance")
        #expect(fold.refusal(Command(RecreateInstance(name: "api", cluster: "b", pod: "api-1"))) == .notFound, "another cluster's")
        guard case .failure(let missing) = ServiceDecider.decide(Command(RecreateInstance(name: "nope", cluster: "a", pod: "api-1")), state: nil) else {
            Issue.record("a recreate of no service was accepted"); return
        }
        #expect(missing.code == .notFound)
        guard case .success(let events) = fold.decide(Command(RecreateInstance(name: "api", cluster: "a", pod: "api-1"))) else {
            Issue.record("refused"); return
        }
        #expect(events.map(\.type) == [ServiceInstanceRecreateRequested.type])
        let request = fold.lastCommandId
        #expect(fold.state?.operations == [request: PendingInstanceOperation(kind: .recreate, cluster: "a", pod: "api-1")])
        #expect(fold.refusal(Command(RecreateInstance(name: "api", cluster: "a", pod: "api-1"))) == .conflict, "one recreate at a time")
        // The members do not change on the request: the pod leaves when the worker reports it gone.
        #expect(fold.state?.addresses == ["10.1.0.2:8080", "10.1.0.3:8080"])
        #expect(fold.refusal(Command(RecordInstanceOperation(name: "api", operation: "cmd-unknown", outcome: .done, detail: "x"))) == .conflict)
        guard case .success(let finished) = fold.decide(Command(RecordInstanceOperation(name: "api", operation: request, outcome: .done,
                                                                                         detail: "pod deleted"))) else {
            Issue.record("the outcome was refused"); return
        }
        #expect(finished.compactMap { $0.as(ServiceInstanceOperationFinished.self) }
                == [ServiceInstanceOperationFinished(name: "api", operation: request, cluster: "a", pod: "api-1", outcome: .done, detail: "pod deleted")])
        #expect(fold.state?.operations == nil)
        #expect(fold.refusal(Command(RecordInstanceOperation(name: "api", operation: request, outcome: .done, detail: "again"))) == .conflict,
                "an outcome is recorded once")
    }

    @Test func debugContainersAndLogReadsNeedARunningPod() {
        var fold = running()
        let debug = Command(AddDebugContainer(name: "api", cluster: "a", pod: "api-2", container: "debug-1", image: "reg.local/tools/busybox:1"))
        #expect(fold.refusal(debug) == nil)
        #expect(fold.state?.operations?[fold.lastCommandId]?.container == "debug-1")
        #expect(fold.refusal(debug) == .conflict, "the same container twice")
        #expect(fold.refusal(Command(AddDebugContainer(name: "api", cluster: "a", pod: "api-2", container: "debug-2", image: "reg.local/tools/busybox:1"))) == nil)
        #expect(fold.refusal(Command(ReadInstanceLogs(name: "api", cluster: "a", pod: "api-3"))) == .notFound)
        let before = fold.state
        guard case .success(let read) = fold.decide(Command(ReadInstanceLogs(name: "api", cluster: "a", pod: "api-1", tailLines: 10))) else {
            Issue.record("refused"); return
        }
        #expect(read.compactMap { $0.as(ServiceInstanceLogsRead.self) }.map(\.tailLines) == [10])
        #expect(fold.state == before, "a read changes nothing in the service")
        // A destroyed service has nothing left to act on.
        _ = fold.decide(Command(DestroyService(name: "api")))
        #expect(fold.state?.operations == nil)
        #expect(fold.refusal(Command(ReadInstanceLogs(name: "api", cluster: "a", pod: "api-1"))) == .conflict)
    }

    @Test func aRolloutIsRecordedWhenItChangesAndForgottenWhenItsDeploymentGoes() {
        var fold = running()
        let step = ServiceRollout(revision: 2, replicas: 2, updated: 1, ready: 2, available: 2, complete: false)
        #expect(fold.refusal(Command(RecordServiceRollout(name: "api", cluster: "a", rollout: step))) == nil)
        #expect(outcome(fold.decide(Command(RecordServiceRollout(name: "api", cluster: "a", rollout: step)))) == "unchanged")
        var done = step
        (done.updated, done.complete) = (2, true)
        #expect(fold.refusal(Command(RecordServiceRollout(name: "api", cluster: "a", rollout: done))) == nil)
        #expect(fold.state?.rollouts == ["a": done])
        #expect(fold.refusal(Command(RecordServiceRollout(name: "api", cluster: "a", rollout: nil))) == nil)
        #expect(fold.state?.rollouts == nil)
        var bad = step
        (bad.updated, bad.reason) = (-1, "two\nlines")
        #expect(Set(ServiceValidation.validate(Command(RecordServiceRollout(name: "api", cluster: "a", rollout: bad))).map(\.field))
                == ["rollout.updated", "rollout.reason"])
    }

    @Test func badOperationsAreRefusedAtTheDoorNamingTheField() {
        func fields(_ c: any CommandPayload) -> Set<String> { Set(ServiceValidation.validate(Command(c)).map(\.field)) }
        #expect(fields(RecreateInstance(name: "api", cluster: "a", pod: "API_1")) == ["pod"])
        #expect(fields(AddDebugContainer(name: "api", cluster: "a", pod: "api-1", container: "Debug!", image: "not an image")) == ["container", "image"])
        #expect(fields(ReadInstanceLogs(name: "api", cluster: "a", pod: "api-1", container: "../etc", tailLines: 10_001, sinceSeconds: 0)) ==
                ["container", "tailLines", "sinceSeconds"])
        #expect(fields(RecordInstanceOperation(name: "api", operation: "", outcome: .failed, detail: "two\nlines")) == ["operation", "detail"])
    }
}
