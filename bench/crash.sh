#!/usr/bin/env bash
# Crash loss (bounded, loopback only): 100 calls talk at a caller's pace through the DynamoDB provider into a store
# with DynamoDB's latency (tools/FakeDynamoDb, 10 ms a request); the service is killed with SIGKILL mid-run; then
# every turn the callers heard is looked for in the store. Reproduce: bash bench/crash.sh → bench/results/crash.md
# Runs with the journal as configured (each call's ready writes in one request) and, for comparison, with
# Persistence:BatchSize=1 (one request per journal entry, as before).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source bench/service.sh
build_bench
dotnet build -c Release "$root/tools/FakeDynamoDb/VoiceAgent.FakeDynamoDb.csproj" >/dev/null
port=5195
store_port=5401
# calls:latency-ms pairs: DynamoDB's typical write latency, and a slow store at three times the calls.
configs=${CONFIGS:-"100:10 300:30"}
fake_pid=""
cleanup() { stop_api $port; if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

store_env=(Store__Provider=DynamoDb Store__DynamoDb__ServiceUrl="http://127.0.0.1:$store_port" Store__DynamoDb__TableName=crash
           AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1)

run() { # calls latency-ms label [extra env...]
  local calls=$1 latency=$2 label=$3; shift 3
  dotnet "$root/tools/FakeDynamoDb/bin/Release/net10.0/VoiceAgent.FakeDynamoDb.dll" --url "http://127.0.0.1:$store_port" --latency-ms "$latency" >/dev/null &
  fake_pid=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$store_port/" >/dev/null 2>&1 && break; sleep 0.2; done
  (cd "$root/src/Api/bin/Release/net10.0" && env "${store_env[@]}" Store__SeedPath="$root/bench/seed" Logging__LogLevel__Default=Warning \
     dotnet VoiceAgent.Api.dll seed >/dev/null)
  start_api $port crash-token "${store_env[@]}" "$@"
  rm -f /tmp/crash-turns.log
  $sim load --url "ws://127.0.0.1:$port/ws" --auth-token crash-token --calls "$calls" --seconds 40 --think-ms 1000 --warmup-seconds 0 \
     --turn-log /tmp/crash-turns.log >/tmp/crash-sim.log 2>&1 &
  local sim_pid=$!
  sleep 20
  local killed_at
  killed_at=$(date +%s%3N)
  kill -9 "$(cat /tmp/bench-api-$port.pid)"
  rm -f "/tmp/bench-api-$port.pid"
  wait "$sim_pid" || true
  curl -fsS "http://127.0.0.1:$store_port/_fake/items?table=crash" >/tmp/crash-items.jsonl
  kill "$fake_pid"; wait "$fake_pid" 2>/dev/null || true; fake_pid=""
  python3 - "$latency ms store, $label" "$killed_at" /tmp/crash-turns.log /tmp/crash-items.jsonl <<'PY'
import json, sys, collections
label, killed_at, turns_path, items_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
heard = collections.defaultdict(list)
for line in open(turns_path):
    sid, at = line.split()[:2]
    if int(at) <= killed_at:
        heard[sid].append(int(at))
stored = collections.Counter()
for line in open(items_path):
    item = json.loads(line)
    if item["sk"]["S"].startswith("MSG#") and item.get("role", {}).get("S") == "assistant":
        stored[item["pk"]["S"][len("CALL#"):]] += 1
total = sum(len(v) for v in heard.values())
lost_ages = []
for sid, times in heard.items():
    times.sort()
    missing = max(0, len(times) - stored[sid])
    lost_ages += [killed_at - t for t in times[len(times) - missing:]]
lost = len(lost_ages)
oldest = max(lost_ages) if lost_ages else 0
print(f"| {label} | {len(heard)} | {total} | {lost} ({100.0 * lost / max(1, total):.1f} %) | {oldest} ms |")
PY
}

out=bench/results/crash.md
{
  echo "# Crash loss — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Command: \`bash bench/crash.sh\` (CONFIGS=\"$configs\": calls:latency pairs). The calls talk for 20 s at a caller's"
  echo "pace (a prompt every 0.5–1.5 s) through the DynamoDB provider into tools/FakeDynamoDb answering every request"
  echo "after the latency; the service is then killed with SIGKILL. A turn is lost when the caller heard its answer before the"
  echo "kill and the store has no answer for it. \"Oldest lost\" is how long before the kill the oldest lost answer was heard:"
  echo "the crash's loss window. $(nproc) cores shared by the service, the store and the simulator."
  echo
  echo "| journal | calls | turns heard before the kill | lost | oldest lost |"
  echo "| --- | --- | --- | --- | --- |"
  for config in $configs; do
    run "${config%%:*}" "${config##*:}" "one request per call's ready writes (default)"
    run "${config%%:*}" "${config##*:}" "one request per entry (Persistence:BatchSize=1)" Persistence__BatchSize=1
  done
} | tee "$out"
