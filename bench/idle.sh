#!/usr/bin/env bash
# Memory per idle call of one build, on its own: a fresh service (JIT warmed by 50 calls), then 10,000 calls placed
# as Twilio places them (webhook, upgrade, setup) that say nothing; RSS growth per call. Extra arguments are
# environment settings for the service (e.g. DOTNET_gcServer=0).
# Reproduce an A/B: git worktree add /tmp/old <commit>; build it in Release; bash bench/idle.sh /tmp/old 5320;
# bash bench/idle.sh "$PWD" 5321
set -u
root=$(cd "$1" && pwd); port=$2; shift 2
source "$(dirname "$0")/service.sh"
sim="dotnet $root/tools/Simulator/bin/Release/net10.0/VoiceAgent.Simulator.dll"
start_api "$port" idle-token Relay__SendQueueCapacity=64 "$@"
$sim load --url "ws://127.0.0.1:$port/ws" --auth-token idle-token --calls 50 --seconds 5 --warmup-seconds 0 >/dev/null
sleep 2
before=$(rss_kb "$port")
$sim idle --url "ws://127.0.0.1:$port/ws" --auth-token idle-token --calls 10000 --seconds 20 >"/tmp/bench-idle-$port.log" 2>&1 &
idle=$!
for _ in $(seq 1 300); do grep -q "idle calls open" "/tmp/bench-idle-$port.log" && break; sleep 0.5; done
sleep 8
after=$(rss_kb "$port")
open=$(grep -o "idle calls open: [0-9]*" "/tmp/bench-idle-$port.log" | grep -o "[0-9]*$" || echo 0)
wait $idle
echo "build $(git -C "$root" rev-parse --short HEAD) $* RSS before ${before} KiB, with ${open} idle calls ${after} KiB: $(( (after - before) * 1024 / (open > 0 ? open : 1) )) bytes per call"
stop_api "$port"
