/// Typed access to a scanned JSON object; any shape mismatch throws (and the caller falls back to Codable).
struct Fields {
    struct Mismatch: Error {}
    let value: JSONValue
    init(_ value: JSONValue) { self.value = value }

    func string(_ key: String) throws -> String {
        guard case .string(let s)? = value[key] else { throw Mismatch() }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw Mismatch()
        }
    }

    func int(_ key: String) throws -> Int {
        guard case .integer(let n)? = value[key], let i = Int(exactly: n) else { throw Mismatch() }
        return i
    }

    func object(_ key: String) throws -> Fields {
        guard case .object? = value[key] else { throw Mismatch() }
        return Fields(value[key]!)
    }

    func template(_ key: String) throws -> PodTemplate {
        let t = try object(key)
        guard let env = try t.optionalStringMap("env"), let ports = try t.optionalPorts("ports") else { throw Mismatch() }
        return PodTemplate(image: try t.string("image"), env: env, ports: ports, healthCheck: try t.optionalHealthCheck("healthCheck"),
                           secretEnv: try t.optionalStringMap("secretEnv") ?? [:])
    }

    func optionalBool(_ key: String) throws -> Bool? {
        switch value[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw Mismatch()
        }
    }

    /// A string-to-string object (env); nil when absent or null.
    func optionalStringMap(_ key: String) throws -> [String: String]? {
        switch value[key] {
        case nil, .null?: return nil
        case .object(let members)?:
            var out: [String: String] = [:]
            for (k, v) in members {
                guard case .string(let s) = v else { throw Mismatch() }
                out[k] = s
            }
            return out
        default: throw Mismatch()
        }
    }

    func optionalStringArray(_ key: String) throws -> [String]? {
        switch value[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item in
                guard case .string(let s) = item else { throw Mismatch() }
                return s
            }
        default: throw Mismatch()
        }
    }

    func optionalPorts(_ key: String) throws -> [ServicePort]? {
        switch value[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item in
                guard case .object = item else { throw Mismatch() }
                let p = Fields(item)
                return ServicePort(name: try p.optionalString("name"), containerPort: try p.int("containerPort"),
                                   protocol: try p.optionalString("protocol") ?? "TCP")
            }
        default: throw Mismatch()
        }
    }

    func optionalHealthCheck(_ key: String) throws -> HealthCheck? {
        switch value[key] {
        case nil, .null?: return nil
        case .object?:
            let h = try object(key)
            return HealthCheck(path: try h.string("path"), port: try h.int("port"),
                               initialDelaySeconds: try h.optionalInt("initialDelaySeconds") ?? 0,
                               periodSeconds: try h.optionalInt("periodSeconds") ?? 10)
        default: throw Mismatch()
        }
    }

    func optionalInt(_ key: String) throws -> Int? {
        switch value[key] {
        case nil, .null?: return nil
        case .integer(let n)?: guard let i = Int(exactly: n) else { throw Mismatch() }; return i
        default: throw Mismatch()
        }
    }
}
