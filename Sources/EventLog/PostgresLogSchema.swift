/// DDL of the embedded log. Offsets are handed out under the partition row's lock, held until commit,
/// so they are dense and commit in offset order: a reader asking for `offset >= n` can never skip a record
/// that commits late (the failure mode of sequence-based event stores).
enum PostgresLogSchema {
    /// Serialises concurrent set-up by several Wharf processes.
    static let setupLockKey: Int64 = 0x5748_4152_4631  // "WHARF1"

    static let statements: [String] = [
        "SELECT pg_advisory_xact_lock(\(setupLockKey))",
        "CREATE SCHEMA IF NOT EXISTS wharf_log",
        """
        CREATE TABLE IF NOT EXISTS wharf_log.topics (
            topic text PRIMARY KEY,
            partitions int NOT NULL CHECK (partitions > 0),
            chained boolean NOT NULL
        )
        """,
        "ALTER TABLE wharf_log.topics ADD COLUMN IF NOT EXISTS derived boolean NOT NULL DEFAULT false",
        """
        CREATE TABLE IF NOT EXISTS wharf_log.partitions (
            topic text NOT NULL REFERENCES wharf_log.topics(topic),
            partition int NOT NULL,
            next_offset bigint NOT NULL DEFAULT 0,
            last_hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
            PRIMARY KEY (topic, partition)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS wharf_log.records (
            topic text NOT NULL,
            partition int NOT NULL,
            "offset" bigint NOT NULL,
            key text NOT NULL,
            value text NOT NULL,
            prev_hash bytea,
            hash bytea,
            appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (topic, partition, "offset")
        )
        """,
        // One round trip per append: lock the partition row, check the fencing offset, extend the hash chain,
        // insert, advance, notify. The chain formula is HashChain.next in Swift; `wharf audit verify` recomputes it.
        """
        CREATE OR REPLACE FUNCTION wharf_log.append(p_topic text, p_partition int, p_expected bigint, p_keys text[], p_values text[])
        RETURNS bigint LANGUAGE plpgsql AS $fn$
        DECLARE
            v_next bigint;
            v_hash bytea;
            v_chained boolean;
            v_derived boolean;
            v_count int := coalesce(array_length(p_values, 1), 0);
            v_prevs bytea[] := '{}';
            v_hashes bytea[] := '{}';
        BEGIN
            SELECT p.next_offset, p.last_hash, t.chained, t.derived INTO v_next, v_hash, v_chained, v_derived
              FROM wharf_log.partitions p JOIN wharf_log.topics t USING (topic)
             WHERE p.topic = p_topic AND p.partition = p_partition
               FOR UPDATE OF p;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'unknown partition %/%', p_topic, p_partition USING ERRCODE = 'WH001';
            END IF;
            IF p_expected IS NOT NULL AND p_expected <> v_next THEN
                RAISE EXCEPTION 'expected next offset % of %/% but it is %', p_expected, p_topic, p_partition, v_next
                    USING ERRCODE = 'WH002', DETAIL = v_next::text;
            END IF;
            IF v_count = 0 THEN
                RETURN v_next;
            END IF;
            IF v_derived THEN
                -- Re-derivable records: do not wait for the WAL flush (see TopicSpec.derived).
                PERFORM set_config('synchronous_commit', 'off', true);
            END IF;
            IF v_chained THEN
                FOR i IN 1..v_count LOOP
                    v_prevs := array_append(v_prevs, v_hash);
                    v_hash := sha256(v_hash || convert_to(p_values[i], 'UTF8'));
                    v_hashes := array_append(v_hashes, v_hash);
                END LOOP;
            END IF;
            INSERT INTO wharf_log.records (topic, partition, "offset", key, value, prev_hash, hash)
            SELECT p_topic, p_partition, v_next + u.ord - 1, u.k, u.v,
                   CASE WHEN v_chained THEN v_prevs[u.ord] END, CASE WHEN v_chained THEN v_hashes[u.ord] END
              FROM unnest(p_keys, p_values) WITH ORDINALITY AS u(k, v, ord);
            UPDATE wharf_log.partitions SET next_offset = v_next + v_count, last_hash = v_hash
             WHERE topic = p_topic AND partition = p_partition;
            PERFORM pg_notify('wharf_log', p_topic || ':' || p_partition || ':' || (v_next + v_count));
            RETURN v_next;
        END
        $fn$
        """,
        // Group commit: unfenced appends to several partitions of one topic in one transaction, so one WAL flush
        // covers them all. Partitions are locked in increasing order (the caller sorts them and gives each once), so
        // two such appends never deadlock. Returns the first offset of each partition's records, in the given order.
        """
        CREATE OR REPLACE FUNCTION wharf_log.append_each(p_topic text, p_partitions int[], p_counts int[], p_keys text[], p_values text[])
        RETURNS bigint[] LANGUAGE plpgsql AS $fn$
        DECLARE
            v_firsts bigint[] := '{}';
            v_at int := 1;
        BEGIN
            FOR i IN 1..coalesce(array_length(p_partitions, 1), 0) LOOP
                IF i > 1 AND p_partitions[i] <= p_partitions[i - 1] THEN
                    RAISE EXCEPTION 'append_each: partitions must increase' USING ERRCODE = 'WH003';
                END IF;
                v_firsts := array_append(v_firsts, wharf_log.append(p_topic, p_partitions[i], NULL,
                    p_keys[v_at:v_at + p_counts[i] - 1], p_values[v_at:v_at + p_counts[i] - 1]));
                v_at := v_at + p_counts[i];
            END LOOP;
            RETURN v_firsts;
        END
        $fn$
        """,
    ]
}
