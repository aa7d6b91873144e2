import CRdKafka
import Foundation
import Logging

/// An error from librdkafka, with the flags its transactional API attaches.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var code: Int32
    public var fatal = false
    public var retriable = false
    public var requiresAbort = false

    public var description: String { message }

    init(_ message: String, code: Int32 = -1) { self.message = message; self.code = code }

    init(_ context: String, code: rd_kafka_resp_err_t) {
        self.init("\(context): \(String(cString: rd_kafka_err2str(code)))", code: code.rawValue)
        retriable = code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
    }

    /// Takes ownership of `error` (an `rd_kafka_error_t *`) and destroys it.
    init(_ context: String, error: OpaquePointer) {
        self.init("\(context): \(String(cString: rd_kafka_error_string(error)))", code: rd_kafka_error_code(error).rawValue)
        fatal = rd_kafka_error_is_fatal(error) != 0
        retriable = rd_kafka_error_is_retriable(error) != 0
        requiresAbort = rd_kafka_error_txn_requires_abort(error) != 0
        rd_kafka_error_destroy(error)
    }

    /// Another producer with our transactional id took over (Kafka's fencing of a zombie writer).
    public var fenced: Bool {
        code == RD_KAFKA_RESP_ERR__FENCED.rawValue || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue
            || code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH.rawValue
    }
}

private let librdkafkaLogger: Logger = {
    var logger = Logger(label: "librdkafka")
    logger.logLevel = ProcessInfo.processInfo.environment["WHARF_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
    return logger
}()

private let librdkafkaLog: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { _, level, facility, message in
    let text = "\(facility.map { String(cString: $0) } ?? "-"): \(message.map { String(cString: $0) } ?? "")"
    // syslog levels: 0-2 emergency..critical are worth seeing; the rest (connection churn) only when debugging.
    librdkafkaLogger.log(level: level <= 2 ? .critical : .debug, "\(text)")
}

/// Creating librdkafka handles, and running its blocking calls away from Swift's cooperative threads.
enum KafkaHandle {
    /// Settings every Wharf handle shares: never create topics as a side effect of a lookup.
    static let common = ["allow.auto.create.topics": "false", "log.connection.close": "false"]

    static func make(_ type: rd_kafka_type_t, brokers: String, settings: [String: String],
                     configure: (OpaquePointer) -> Void = { _ in }) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError("rd_kafka_conf_new failed") }
        var errbuf = [CChar](repeating: 0, count: 512)
        // TLS/SASL settings of WHARF_KAFKA_PROPERTIES come first; Wharf's own settings of the handle win.
        let all = try KafkaProperties.fromEnvironment().merging(common) { $1 }.merging(settings) { $1 }.merging(["bootstrap.servers": brokers]) { $1 }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) where rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("Kafka setting \(key)=\(key.hasPrefix("sasl.") ? "(hidden)" : value) was refused: \(String(cString: errbuf))")
        }
        // librdkafka logs every failed connection attempt; Wharf reports what matters itself (an unreachable
        // broker at start, failed appends and reads), so its lines go to the debug log.
        rd_kafka_conf_set_log_cb(conf, librdkafkaLog)
        configure(conf)
        guard let handle = rd_kafka_new(type, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create a Kafka client: \(String(cString: errbuf))")
        }
        return handle
    }

    private static let blockingQueue = DispatchQueue(label: "wharf.kafka.blocking", attributes: .concurrent)

    /// Runs a blocking librdkafka call (transactions, metadata, watermarks, waiting fetches) on a dispatch queue.
    static func blocking<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The librdkafka version loaded at run time (not the headers'): 2.0.2 cannot talk to every broker.
    static var runtimeVersion: String { String(cString: rd_kafka_version_str()) }
}
