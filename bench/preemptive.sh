#!/usr/bin/env bash
# Preemptive answers: perceived latency (the final prompt to the first answer token, what the caller waits for) with
# preemption on and off, against a model with realistic first-token times (Llm:Provider=Instant, first token after
# 300-600 ms). Callers speak as Twilio's partialPrompts report it: a partial every 150-300 ms as the utterance grows,
# the final 200-500 ms after the last partial (Twilio's end-of-speech wait).
# Reproduce: bash bench/preemptive.sh   → bench/results/preemptive.md   (CALLS, SECONDS_EACH, RUNS to change the load;
# AFTER=00:00:00.050 for another Conversation:PreemptAfter, MODEL=300-600ms or 100-250ms for one model only)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source bench/service.sh
build_bench
out=${OUT:-bench/results/preemptive.md}
calls=${CALLS:-50}
seconds=${SECONDS_EACH:-40}
runs=${RUNS:-2}
port=5291
# Two models: first token after 300-600 ms (a large model), and after 100-250 ms (a small, latency-optimised one).
models=("300-600ms Llm__InstantFirstTokenDelay=00:00:00.300 Llm__InstantFirstTokenJitter=00:00:00.300"
        "100-250ms Llm__InstantFirstTokenDelay=00:00:00.100 Llm__InstantFirstTokenJitter=00:00:00.150")
after=${AFTER:-}
after_env=()
[ -n "$after" ] && after_env=(Conversation__PreemptAfter="$after")
trap 'stop_api $port' EXIT

run() { # label, service settings...
  local label=$1; shift
  start_api $port t "$@"
  $sim load --url "ws://127.0.0.1:$port/ws" --auth-token t --calls 20 --seconds 5 --think-ms 200 --warmup-seconds 0 >/dev/null
  echo "$label $($sim preempt --url "ws://127.0.0.1:$port/ws" --auth-token t --calls "$calls" --seconds "$seconds" --think-ms 1500 --warmup-seconds 4 \
    --prompt "Can I get a large pepperoni pizza for pickup please.")"
  stop_api $port
}

results=$(for m in "${models[@]}"; do
  read -r name settings <<<"$m"
  [ -n "${MODEL:-}" ] && [ "$MODEL" != "$name" ] && continue
  read -r -a model <<<"$settings"
  for i in $(seq 1 "$runs"); do
    run "model-$name preemption-on " "${model[@]}" Conversation__Preemption=true "${after_env[@]}"
    run "model-$name preemption-off" "${model[@]}" Conversation__Preemption=false
  done
done)

{
  echo "# Preemptive answers — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores; .NET $(dotnet --version). Command: \`bash bench/preemptive.sh\` ($calls calls, ${seconds} s a run, $runs runs each, alternating)."
  echo "Model: Llm:Provider=Instant with its first token after 300-600 ms, or 100-250 ms (uniform). Conversation:PreemptAfter ${after:-at its default (120 ms)}."
  echo "Callers: a partial every 150-300 ms while the 11-word utterance grows, the final 200-500 ms after the last partial,"
  echo "1-2 s between turns. Perceived latency: the final prompt sent to the first answer token received, at the caller."
  echo
  echo '```'
  echo "$results"
  echo '```'
} >"$out"
cat "$out"
