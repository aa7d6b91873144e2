import Events

/// decide(command, state) -> events | rejection. Pure: no clock, no I/O, no randomness.
public enum ServiceDecider {
    public static func decide(_ command: Command, state: ServiceState?) -> Result<[Event], Rejection> {
        let errors = ServiceValidation.validate(command)
        if !errors.isEmpty {
            return .failure(Rejection(.invalid, errors.map(\.description).joined(separator: "; ")))
        }
        switch command.payload {
        case let c as CreateService:
            if let state {
                return .failure(Rejection(.conflict, state.status == .destroyed
                    ? "service \"\(c.name)\" existed and was destroyed; its name and history stay reserved"
                    : "service \"\(c.name)\" already exists"))
            }
            let template = PodTemplate(image: c.image, env: c.env, ports: c.ports, healthCheck: c.healthCheck, secretEnv: c.secretEnv ?? [:])
            return .success([Event(ServiceCreated(name: c.name, businessLine: c.businessLine, replicas: c.replicas,
                                                            domain: c.domain, revision: 1, template: template))])

        case let c as UpdateServiceConfig:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            var template = s.template
            if let env = c.env { template.env = env }
            if let ports = c.ports { template.ports = ports }
            if let h = c.healthCheck { template.healthCheck = h }
            if c.clearHealthCheck == true { template.healthCheck = nil }
            for name in c.removeSecretEnv ?? [] where template.secretEnv.removeValue(forKey: name) == nil {
                return .failure(Rejection(.invalid, "removeSecretEnv: service \"\(c.name)\" has no secret variable \"\(name)\""))
            }
            template.secretEnv.merge(c.secretEnv ?? [:]) { _, new in new }
            // Checked on the result: the state decides whether a plain and a secret variable would share a name.
            if let both = template.env.keys.sorted().first(where: { template.secretEnv[$0] != nil }) {
                return .failure(Rejection(.invalid, "\"\(both)\" would be in both env and secretEnv; a variable is either plain or secret"))
            }
            if template.env.count + template.secretEnv.count > ServiceValidation.maxEnvEntries {
                return .failure(Rejection(.invalid, "at most \(ServiceValidation.maxEnvEntries) variables in env and secretEnv together"))
            }
            var domain = s.domain
            if let d = c.domain { domain = d }
            if c.clearDomain == true { domain = nil }
            if template == s.template && domain == s.domain {
                return .success([.unchanged(command, "the update changes nothing on service \"\(c.name)\"")])
            }
            let revision = template == s.template ? s.revision : s.revision + 1
            return .success([Event(ServiceConfigUpdated(name: c.name, revision: revision, template: template, domain: domain))])

        case let c as UpgradeServiceImage:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.template.image == c.image {
                return .success([.unchanged(command, "service \"\(c.name)\" already runs \(c.image)")])
            }
            var template = s.template
            template.image = c.image
            return .success([Event(ServiceImageUpgraded(name: c.name, previousImage: s.template.image,
                                                                        revision: s.revision + 1, template: template))])

        case let c as ScaleService:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.replicas == c.replicas {
                return .success([.unchanged(command, "service \"\(c.name)\" already has \(c.replicas) replicas")])
            }
            return .success([Event(ServiceScaled(name: c.name, previousReplicas: s.replicas, replicas: c.replicas))])

        case let c as RollbackService:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            guard let template = s.revisions[c.revision] else {
                return .failure(Rejection(.invalid, "service \"\(c.name)\" has no revision \(c.revision) (revisions 1-\(s.revision) exist)"))
            }
            if c.revision == s.revision {
                return .success([.unchanged(command, "service \"\(c.name)\" is at revision \(c.revision) already")])
            }
            return .success([Event(ServiceRolledBack(name: c.name, toRevision: c.revision,
                                                                  revision: s.revision + 1, template: template))])

        case let c as DestroyService:
            switch active(state, c.name) {
            case .success: return .success([Event(ServiceDestroyed(name: c.name))])
            case .failure(let r): return .failure(r)
            }

        case let c as RevealServiceSecret:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            guard let value = s.template.secretEnv[c.variable], let sealed = SealedSecret(value) else {
                return .failure(Rejection(.notFound, "service \"\(c.name)\" has no secret variable \"\(c.variable)\""))
            }
            return .success([Event(ServiceSecretRevealed(name: c.name, variable: c.variable, revision: s.revision,
                                                         keyId: sealed.keyId, sealed: value))])

        case let c as SetServiceAddresses:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.addresses == c.addresses {
                return .success([.unchanged(command, "service \"\(c.name)\" has these addresses already")])
            }
            return .success([Event(ServiceAddressesSet(name: c.name, addresses: c.addresses))])

        case let c as SetServicePlacement:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.placement == c.placement { return .success([.unchanged(command, "service \"\(c.name)\" has this placement already")]) }
            return .success([Event(ServicePlacementSet(name: c.name, placement: c.placement, placementRevision: (s.placementRevision ?? 0) + 1))])

        case let c as RecordServiceInstances:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if (s.instances?[c.cluster] ?? []) == c.instances {
                return .success([.unchanged(command, "the instances of service \"\(c.name)\" in cluster \"\(c.cluster)\" are unchanged")])
            }
            var instances = s.instances ?? [:]
            instances[c.cluster] = c.instances.isEmpty ? nil : c.instances
            return .success([Event(ServiceInstancesObserved(name: c.name, cluster: c.cluster, instances: c.instances))]
                + Self.settling(s, name: c.name, result: s.placementResult, instances: instances))

        case let c as SetInstanceRotation:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            guard (s.instances?[c.cluster] ?? []).contains(where: { $0.pod == c.pod }) else {
                return .failure(Rejection(.notFound, "pod \"\(c.pod)\" is not a running instance of service \"\(c.name)\" in cluster \"\(c.cluster)\""))
            }
            let isOut = s.outOfRotation?[c.cluster]?.contains(c.pod) ?? false
            if isOut != c.inRotation {
                return .success([.unchanged(command, "pod \"\(c.pod)\" is \(isOut ? "out of" : "in") the load balancer already")])
            }
            var pods = Set(s.outOfRotation?[c.cluster] ?? [])
            if c.inRotation { pods.remove(c.pod) } else { pods.insert(c.pod) }
            var after = s
            after.outOfRotation = (s.outOfRotation ?? [:]).merging([c.cluster: pods.sorted()]) { $1 }.filter { !$0.value.isEmpty }
            return .success([Event(ServiceInstanceRotationSet(name: c.name, cluster: c.cluster, pod: c.pod, inRotation: c.inRotation))]
                + Self.settling(after, name: c.name, result: s.placementResult, instances: s.instances ?? [:]))

        case let c as RecreateInstance:
            let s: ServiceState
            switch running(state, c.name, c.cluster, c.pod) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.operations?.values.contains(where: { $0.kind == .recreate && $0.cluster == c.cluster && $0.pod == c.pod }) == true {
                return .failure(Rejection(.conflict, "a recreate of pod \"\(c.pod)\" is under way already"))
            }
            return .success([Event(ServiceInstanceRecreateRequested(name: c.name, cluster: c.cluster, pod: c.pod))])

        case let c as AddDebugContainer:
            let s: ServiceState
            switch running(state, c.name, c.cluster, c.pod) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.operations?.values.contains(where: { $0.cluster == c.cluster && $0.pod == c.pod && $0.container == c.container }) == true {
                return .failure(Rejection(.conflict, "a debug container \"\(c.container)\" is being added to pod \"\(c.pod)\" already"))
            }
            return .success([Event(ServiceDebugContainerRequested(name: c.name, cluster: c.cluster, pod: c.pod, container: c.container, image: c.image))])

        case let c as ReadInstanceLogs:
            if case .failure(let r) = running(state, c.name, c.cluster, c.pod) { return .failure(r) }
            return .success([Event(ServiceInstanceLogsRead(name: c.name, cluster: c.cluster, pod: c.pod, container: c.container,
                                                           tailLines: c.tailLines, sinceSeconds: c.sinceSeconds, follow: c.follow))])

        case let c as RecordServiceRollout:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            if s.rollouts?[c.cluster] == c.rollout {
                return .success([.unchanged(command, "the rollout of service \"\(c.name)\" in cluster \"\(c.cluster)\" is unchanged")])
            }
            return .success([Event(ServiceRolloutObserved(name: c.name, cluster: c.cluster, rollout: c.rollout))])

        case let c as RecordInstanceOperation:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            guard let pending = s.operations?[c.operation] else {
                return .failure(Rejection(.conflict, "operation \"\(c.operation)\" of service \"\(c.name)\" is not under way"))
            }
            return .success([Event(ServiceInstanceOperationFinished(name: c.name, operation: c.operation, cluster: pending.cluster, pod: pending.pod,
                                                                    outcome: c.outcome, detail: c.detail))])

        case let c as RecordPlacementDecision:
            let s: ServiceState
            switch active(state, c.name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
            guard let placement = s.placement, let revision = s.placementRevision else {
                return .failure(Rejection(.conflict, "service \"\(c.name)\" has no placement"))
            }
            guard c.placementRevision == revision, c.replicas == s.replicas else {
                return .failure(Rejection(.conflict, "the decision divides \(c.replicas) replicas of placement \(c.placementRevision); the service has \(s.replicas) of placement \(revision)"))
            }
            // Deciders are pure, so the division can be done again here: a decision is accepted only if its inputs give it.
            guard let target = try? PlacementDivider.divide(c.replicas, placement: placement, inputs: c.inputs),
                  PlacementDivider.step(toward: target, inputs: c.inputs, replicas: c.replicas) == c.result else {
                return .failure(Rejection(.invalid, "the result is not the \(placement.division.rawValue) division of its inputs"))
            }
            // A step of a gradual move only once the last move has settled: steps must not pile up into one surge.
            if c.result != target, let result = s.placementResult, s.placementSettled != result {
                return .failure(Rejection(.conflict, "service \"\(c.name)\" is still moving to its last division; the next step waits until it settles"))
            }
            if s.placementResult == c.result, s.placementDecidedRevision == revision, s.placementDecidedReplicas == c.replicas {
                return .success([.unchanged(command, "service \"\(c.name)\" is divided like this already")])
            }
            return .success([Event(ServicePlacementDecided(name: c.name, placementRevision: revision, replicas: c.replicas, division: placement.division,
                                                           inputs: c.inputs, result: c.result))]
                + Self.settling(s, name: c.name, result: c.result, instances: s.instances ?? [:]))

        default:
            return .failure(Rejection(.invalid, "\(command.type) is not a command for a service"))
        }
    }

    /// After a change of division or of instances: `ServicePlacementSettled` when every new share is ready, and the
    /// live members (`ServiceAddressesSet`) when they changed. A service without ports has no members to route to.
    private static func settling(_ s: ServiceState, name: String, result: [String: Int]?, instances: [String: [ServiceInstance]]) -> [Event] {
        var events: [Event] = []
        var settled = s.placementSettled
        if let result, settled != result, PlacementShares.isReady(result, instances: instances, outOfRotation: s.outOfRotation ?? [:]) {
            events.append(Event(ServicePlacementSettled(name: name, result: result)))
            settled = result
        }
        // Addresses set by hand (`PUT .../addresses`) stay until a cluster worker has reported pods at all.
        if let port = s.template.ports.first?.containerPort, s.instances != nil || !instances.isEmpty {
            let addresses = PlacementShares.members(instances: instances, port: port, result: result, settled: settled,
                                                    outOfRotation: s.outOfRotation ?? [:])
            if addresses != s.addresses { events.append(Event(ServiceAddressesSet(name: name, addresses: addresses))) }
        }
        return events
    }

    /// An active service with `pod` among its instances in `cluster` as last reported.
    private static func running(_ state: ServiceState?, _ name: String, _ cluster: String, _ pod: String) -> Result<ServiceState, Rejection> {
        let s: ServiceState
        switch active(state, name) { case .success(let v): s = v; case .failure(let r): return .failure(r) }
        guard (s.instances?[cluster] ?? []).contains(where: { $0.pod == pod }) else {
            return .failure(Rejection(.notFound, "pod \"\(pod)\" is not a running instance of service \"\(name)\" in cluster \"\(cluster)\""))
        }
        return .success(s)
    }

    private static func active(_ state: ServiceState?, _ name: String) -> Result<ServiceState, Rejection> {
        guard let state else { return .failure(Rejection(.notFound, "service \"\(name)\" does not exist")) }
        guard state.status == .active else { return .failure(Rejection(.conflict, "service \"\(name)\" was destroyed")) }
        return .success(state)
    }
}
