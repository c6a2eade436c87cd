#!/usr/bin/env bash
# Benchmark: the service with an instant fake model (Llm:Provider=Instant) on loopback, driven by the caller
# simulator. Both run on this machine (2 cores here), so client CPU is included in every number.
# Reproduce: bash bench/run.sh   → bench/results/latest.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 10,000 idle calls need ~10,000 sockets per process

dotnet build -c Release src/Api/VoiceAgent.Api.csproj >/dev/null
dotnet build -c Release tools/Simulator/VoiceAgent.Simulator.csproj >/dev/null
api_dir=$PWD/src/Api/bin/Release/net10.0
sim="dotnet $PWD/tools/Simulator/bin/Release/net10.0/VoiceAgent.Simulator.dll"
out=bench/results/latest.md
token=bench-token

start_api() { # port, extra env...
  local port=$1; shift
  # exec: the recorded PID is the service itself (its RSS is measured below).
  (cd "$api_dir" && exec env ASPNETCORE_ENVIRONMENT=Production Twilio__AuthToken=$token Twilio__PublicBaseUrl=http://127.0.0.1:$port \
     Llm__Provider=Instant Store__SeedPath="$root/bench/seed" Conversation__DefaultUseCaseId=bench \
     Logging__LogLevel__Default=Warning Relay__SendQueueCapacity=64 "$@" \
     dotnet VoiceAgent.Api.dll --urls http://127.0.0.1:$port >/tmp/bench-api-$port.log 2>&1) &
  echo $! >/tmp/bench-api-$port.pid
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "service on $port did not start" >&2; cat /tmp/bench-api-$port.log >&2; exit 1
}
stop_api() { kill "$(cat /tmp/bench-api-$1.pid)" 2>/dev/null || true; wait "$(cat /tmp/bench-api-$1.pid)" 2>/dev/null || true; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$(cat /tmp/bench-api-$1.pid)/status"; }
trap 'stop_api 5191; stop_api 5192' EXIT

{
  echo "# VoiceAgent benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; .NET $(dotnet --version). Service and simulator share the machine."
  echo "Command: \`bash bench/run.sh\`. Model: Llm:Provider=Instant (12 tokens at once). Signed upgrades, JSON logs at Warning."
  echo
  echo "## Prompt → first token (client-measured, loopback; callers think 0.5–1.5 s between turns)"
  echo
  echo '```'
} >"$out"

start_api 5191
for calls in 100 1000 5000; do
  $sim load --url ws://127.0.0.1:5191/ws --auth-token $token --calls $calls --seconds 25 --think-ms 1000 | tee -a "$out"
done
echo '```' >>"$out"

# Memory per idle call: RSS growth of the service while 10,000 set-up calls sit silent.
before=$(rss_kb 5191)
$sim idle --url ws://127.0.0.1:5191/ws --auth-token $token --calls 10000 --seconds 25 >/tmp/bench-idle.log 2>&1 &
idle=$!
for _ in $(seq 1 300); do grep -q "idle calls open" /tmp/bench-idle.log && break; sleep 0.5; done
sleep 8
after=$(rss_kb 5191)
open=$(grep -o "idle calls open: [0-9]*" /tmp/bench-idle.log | grep -o "[0-9]*$" || echo 0)
wait $idle || true
{
  echo
  echo "## Memory per idle call"
  echo
  echo "RSS before: ${before} KiB; with ${open} idle calls: ${after} KiB; per call: $(( (after - before) * 1024 / (open > 0 ? open : 1) )) bytes."
} >>"$out"
stop_api 5191

# Barge-in: the answer streams 60 tokens 20 ms apart; the caller interrupts after the first one.
start_api 5192 Llm__InstantTokens=60 Llm__InstantTokenDelay=00:00:00.020
{
  echo
  echo "## Barge-in → last token of the interrupted answer"
  echo
  echo "Time from sending interrupt to the last frame of that answer received (0 = nothing arrived after it)."
  echo
  echo '```'
  $sim bargein --url ws://127.0.0.1:5192/ws --auth-token $token --turns 200
  echo '```'
} >>"$out"
stop_api 5192
cat "$out"
