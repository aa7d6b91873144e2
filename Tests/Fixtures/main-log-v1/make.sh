#!/usr/bin/env bash
# Writes a log with the Wharf binary given as $1 (today's main) and dumps it, with its read models, as the fixture
# that later code must replay to the same chain and rows. Needs a Postgres at $DB (empty database).
set -euo pipefail
BIN=$1; DB=$2; OUT=$3; PORT=${4:-18089}
export WHARF_DATABASE_URL=$DB WHARF_HTTP_PORT=$PORT WHARF_BOOTSTRAP_TOKEN=wharf_fixture_token_0123456789abcdef WHARF_PARTITIONS=4
export WHARF_DATA_DIR=$(mktemp -d)
"$BIN" serve > /tmp/fixture-serve.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.3; done
T="Authorization: Bearer $WHARF_BOOTSTRAP_TOKEN"
c() { m=$1; p=$2; b=${3:-}; if [ -n "$b" ]; then curl -s -X $m -H "$T" -H 'content-type: application/json' -d "$b" http://127.0.0.1:$PORT$p; else curl -s -X $m -H "$T" http://127.0.0.1:$PORT$p; fi; echo; }
c POST /v1/services '{"name":"cart","businessLine":"shop","image":"registry.example.com/cart:1","replicas":2,"env":{"A":"1","B":"x\"y"},"ports":[{"containerPort":8080,"protocol":"TCP","name":"http"}],"healthCheck":{"path":"/healthz","port":8080,"initialDelaySeconds":5,"periodSeconds":10},"domain":"cart.example.com"}'
c POST /v1/services '{"name":"pay","businessLine":"pay","image":"registry.example.com/pay:1.0","replicas":1}'
c POST /v1/services '{"name":"pay","businessLine":"pay","image":"registry.example.com/pay:1.0","replicas":1}'
c POST /v1/services/cart/scale '{"replicas":5}'
c POST /v1/services/cart/scale '{"replicas":5}'
c POST /v1/services/cart/upgrade '{"image":"registry.example.com/cart:2"}'
c PATCH /v1/services/cart '{"env":{"A":"2"},"clearDomain":true}'
c POST /v1/services/cart/rollback '{"revision":1}'
c POST /v1/services/cart/rollback '{"revision":9}'
c PUT /v1/services/cart/addresses '{"addresses":["10.1.0.1:8080","10.1.0.2:8080","10.1.0.3:8080"]}'
c POST /v1/services/ghost/scale '{"replicas":2}'
for i in $(seq 1 30); do c POST /v1/services "{\"name\":\"svc-$i\",\"businessLine\":\"bl-$((i % 4))\",\"image\":\"registry.example.com/s:$i\",\"replicas\":$i}" >/dev/null; done
for i in $(seq 1 30 | shuf --random-source=<(yes)); do c POST /v1/services/svc-$i/upgrade "{\"image\":\"registry.example.com/s:$i.1\"}" >/dev/null; done
c DELETE /v1/services/svc-3
c DELETE /v1/services/svc-3
c POST /v1/nginx/clusters '{"name":"edge","environment":"test","testDomain":{"wildcard":"test.example.com","listen":8080},"upstreams":[{"name":"cart","servers":[{"service":"cart"},{"address":"192.168.7.7:80","backup":true}]},{"name":"web","servers":[{"address":"10.0.0.1:8080","weight":3}]}],"sites":[{"name":"shop","serverNames":["shop.example.com"],"listen":8080,"locations":[{"path":"/","upstream":"cart","canary":{"upstream":"web","header":{"name":"X-Canary","value":"yes"}}}]}]}'
c POST /v1/nginx/clusters/edge/nodes '{"name":"n1","listenAddress":"127.0.0.1"}'
c PUT /v1/nginx/clusters/edge/upstreams/web '{"servers":[{"address":"10.0.0.1:8080"},{"address":"10.0.0.2:8080"}]}'
c PUT /v1/nginx/clusters/edge/sites/api '{"serverNames":["api.example.com"],"listen":8080,"locations":[{"path":"/v1/","upstream":"web"}]}'
sleep 3
c POST /v1/services/cart/scale '{"replicas":2}'
sleep 3
c DELETE /v1/nginx/clusters/edge/sites/api
c POST /v1/nginx/clusters/edge/rollback '{"version":2}'
c POST /v1/nginx/clusters/edge/rollback '{"version":99}'
c DELETE /v1/nginx/clusters/edge/upstreams/nope
sleep 5
kill $pid; wait $pid || true
# A record no decoder reads: the processor must still answer it with a recorded rejection.
psql -X -q -A -t "$DB" -c "SELECT wharf_log.append('commands', 2, NULL, ARRAY['service/garbage'], ARRAY['{\"not\": \"a command\"}'])"
"$BIN" serve > /tmp/fixture-serve.log 2>&1 &
pid=$!
sleep 6; kill $pid; wait $pid || true
trap - EXIT
mkdir -p "$OUT"
PGTZ=UTC psql -X -q -A -t "$DB" -c "SELECT json_build_object('topic',topic,'partition',partition,'offset',\"offset\",'key',key,'value',value,'prevHash',encode(prev_hash,'hex'),'hash',encode(hash,'hex'))::text FROM wharf_log.records WHERE topic IN ('commands','events') ORDER BY topic, partition, \"offset\"" > "$OUT/records.jsonl"
for t in services service_revisions audit nginx_clusters nginx_versions nginx_nodes; do
  PGTZ=UTC psql -X -q -A -t "$DB" -c "SELECT row_to_json(r)::text FROM (SELECT * FROM wharf_read.$t) r" | LC_ALL=C sort > "$OUT/$t.jsonl"
done
wc -l "$OUT"/*
