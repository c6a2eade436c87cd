# Shared by bench/run.sh and bench/faults.sh (sourced, not run): build the service and the simulator, and start
# and stop the service on loopback with the instant model and the bench seed. Expects $root, the repository root.

build_bench() {
  dotnet build -c Release "$root/src/Api/VoiceAgent.Api.csproj" >/dev/null
  dotnet build -c Release "$root/tools/Simulator/VoiceAgent.Simulator.csproj" >/dev/null
}

sim="dotnet $root/tools/Simulator/bin/Release/net10.0/VoiceAgent.Simulator.dll"

start_api() { # port auth-token [extra env...]; later settings win
  local port=$1 token=$2; shift 2
  if curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1; then
    echo "port $port is already serving: stop that process first" >&2; exit 1
  fi
  # exec: the recorded PID is the service itself (its RSS is measured by run.sh).
  (cd "$root/src/Api/bin/Release/net10.0" && exec env ASPNETCORE_ENVIRONMENT=Production Twilio__AuthToken="$token" \
     Twilio__PublicBaseUrl="http://127.0.0.1:$port" Llm__Provider=Instant Store__SeedPath="$root/bench/seed" \
     Conversation__DefaultUseCaseId=bench Logging__LogLevel__Default=Warning "$@" \
     dotnet VoiceAgent.Api.dll --urls "http://127.0.0.1:$port" >"/tmp/bench-api-$port.log" 2>&1) &
  echo $! >"/tmp/bench-api-$port.pid"
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "service on $port did not start" >&2; cat "/tmp/bench-api-$port.log" >&2; exit 1
}

stop_api() { # port
  [ -f "/tmp/bench-api-$1.pid" ] || return 0
  kill "$(cat "/tmp/bench-api-$1.pid")" 2>/dev/null || true
  wait "$(cat "/tmp/bench-api-$1.pid")" 2>/dev/null || true
  rm -f "/tmp/bench-api-$1.pid"
}

api_running() { kill -0 "$(cat "/tmp/bench-api-$1.pid")" 2>/dev/null; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$(cat "/tmp/bench-api-$1.pid")/status"; }
