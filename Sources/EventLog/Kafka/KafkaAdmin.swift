import CRdKafka
import Foundation

/// Topic administration and partition metadata through any librdkafka handle (Wharf uses its producer's).
struct KafkaAdmin {
    let handle: OpaquePointer
    var timeoutMs: Int32 = 10_000

    /// Partition counts of the topics the cluster has (all of them: asking for one topic by name could create it
    /// on brokers that auto-create topics).
    func partitionCounts(timeout: Duration? = nil) async throws -> [String: Int] {
        let handle = handle, timeoutMs = timeout.map { Int32($0.components.seconds * 1000) } ?? timeoutMs
        return try await KafkaHandle.blocking {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError("cannot read Kafka metadata", code: code) }
            defer { rd_kafka_metadata_destroy(metadata) }
            var out: [String: Int] = [:]
            for i in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[i]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = topic.topic else { continue }
                out[String(cString: name)] = Int(topic.partition_cnt)
            }
            return out
        }
    }

    /// Creates topics with unlimited retention; a topic that already exists is not an error (the caller checks
    /// its partition count).
    func createTopics(_ topics: [(name: String, partitions: Int)], replicationFactor: Int) async throws {
        guard !topics.isEmpty else { return }
        let handle = handle, timeoutMs = timeoutMs
        try await KafkaHandle.blocking {
            var errbuf = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.withUnsafeMutableBufferPointer { rd_kafka_NewTopic_destroy_array($0.baseAddress, $0.count) } }
            for topic in topics {
                guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(replicationFactor), &errbuf, errbuf.count) else {
                    throw KafkaError("topic \(topic.name): \(String(cString: errbuf))")
                }
                newTopics.append(newTopic)
                // The log is the system of record: Kafka must never age records out of it.
                _ = rd_kafka_NewTopic_set_config(newTopic, "retention.ms", "-1")
                _ = rd_kafka_NewTopic_set_config(newTopic, "retention.bytes", "-1")
            }
            guard let queue = rd_kafka_queue_new(handle) else { throw KafkaError("rd_kafka_queue_new failed") }
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errbuf, errbuf.count)
            newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue) }
            guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5000) else { throw KafkaError("creating topics timed out") }
            defer { rd_kafka_event_destroy(event) }
            let code = rd_kafka_event_error(event)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError("creating topics failed: \(String(cString: rd_kafka_event_error_string(event)))", code: code.rawValue)
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { throw KafkaError("unexpected reply to CreateTopics") }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for i in 0..<count {
                guard let topicResult = results[i] else { continue }
                let code = rd_kafka_topic_result_error(topicResult)
                if code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(code))
                throw KafkaError("cannot create topic \(name): \(detail)", code: code.rawValue)
            }
        }
    }

    /// Low and high watermarks of a partition, asked of the partition's leader.
    func watermarks(topic: String, partition: Int) async throws -> (low: Int64, high: Int64) {
        let handle = handle, timeoutMs = timeoutMs
        return try await KafkaHandle.blocking {
            var low: Int64 = 0, high: Int64 = 0
            let code = rd_kafka_query_watermark_offsets(handle, topic, Int32(partition), &low, &high, timeoutMs)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("cannot read the end of \(topic)/\(partition)", code: code) }
            return (low, high)
        }
    }
}
