/// Before read models had their own layout versions, one `layout(version)` table covered all of them. Layout 3
/// had exactly today's tables: its models are adopted as ready at version 1. Any other legacy layout is dropped
/// and rebuilt from the log.
enum LegacyLayout {
    static func migrate(schema s: String) -> String {
        """
        DO $$ DECLARE v int; BEGIN
          IF to_regclass('\(s).layout') IS NOT NULL THEN
            EXECUTE 'SELECT max(version) FROM \(s).layout' INTO v;
            IF v = 3 THEN
              CREATE TABLE IF NOT EXISTS \(s).read_models (name text PRIMARY KEY, version int NOT NULL, ready boolean NOT NULL);
              INSERT INTO \(s).read_models (name, version, ready)
                VALUES ('audit', 1, true), ('services', 1, true), ('nginx', 1, true) ON CONFLICT DO NOTHING;
              DROP TABLE \(s).layout;
            ELSE
              EXECUTE 'DROP SCHEMA \(s) CASCADE';
            END IF;
          END IF;
        END $$
        """
    }
}
