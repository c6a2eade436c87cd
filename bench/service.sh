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
     ${api_pin:-} dotnet VoiceAgent.Api.dll --urls "http://127.0.0.1:$port" >"/tmp/bench-api-$port.log" 2>&1) &
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

# The production configuration (Store:Provider=DynamoDb, Llm:Provider=Bedrock) against loopback fakes:
# tools/FakeDynamoDb (in memory; moto manages ~200 writes/s and would measure itself) and tools/FakeBedrock.
# start_fakes seeds the table; prod_env holds the service settings that point at them. Credentials come from the fake
# Bedrock's container-credentials endpoint, as they come from the task role's endpoint on Fargate.
fake_dynamodb_port=5401
fake_bedrock_port=5402
prod_env=(Store__Provider=DynamoDb Store__DynamoDb__ServiceUrl="http://127.0.0.1:$fake_dynamodb_port" Store__DynamoDb__TableName=bench
          Llm__Provider=Bedrock Bedrock__Region=us-east-1 Bedrock__Endpoint="http://127.0.0.1:$fake_bedrock_port"
          AWS_REGION=us-east-1 AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$fake_bedrock_port/_fake/credentials")

build_fakes() {
  dotnet build -c Release "$root/tools/FakeDynamoDb/VoiceAgent.FakeDynamoDb.csproj" >/dev/null
  dotnet build -c Release "$root/tools/FakeBedrock/VoiceAgent.FakeBedrock.csproj" >/dev/null
}

start_fakes() { # [fake-bedrock options...]; $pin (e.g. "taskset -c 1") runs them on a chosen core
  stop_fakes
  ${pin:-} dotnet "$root/tools/FakeDynamoDb/bin/Release/net10.0/VoiceAgent.FakeDynamoDb.dll" --url "http://127.0.0.1:$fake_dynamodb_port" >/tmp/bench-fake-dynamodb.log 2>&1 &
  echo $! >/tmp/bench-fake-dynamodb.pid
  ${pin:-} dotnet "$root/tools/FakeBedrock/bin/Release/net10.0/VoiceAgent.FakeBedrock.dll" --url "http://127.0.0.1:$fake_bedrock_port" "$@" >/tmp/bench-fake-bedrock.log 2>&1 &
  echo $! >/tmp/bench-fake-bedrock.pid
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$fake_dynamodb_port/" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$fake_bedrock_port/_fake/stats" >/dev/null 2>&1 && break
    sleep 0.2
  done
  (cd "$root/src/Api/bin/Release/net10.0" && env "${prod_env[@]}" Store__SeedPath="$root/bench/seed" Logging__LogLevel__Default=Warning \
     dotnet VoiceAgent.Api.dll seed >/tmp/bench-seed.log 2>&1) || { echo "seeding the fake DynamoDB failed" >&2; cat /tmp/bench-seed.log >&2; exit 1; }
}

stop_fakes() {
  local f
  for f in /tmp/bench-fake-dynamodb.pid /tmp/bench-fake-bedrock.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    wait "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

cpu_ticks() { # pid: user+system CPU time so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# The Node.js reference app (the seed's blog repository, run unmodified) against the same fakes. $reference is its
# checkout with `npm ci` run in app/ (bench/reference.sh prepares it); it listens on port 3000, its only port.
reference_port=3000
start_reference() {
  local app="$reference/app"
  # ES modules resolve packages from the script's folder: the seed runs from a copy beside the reference's packages.
  cp "$root/bench/reference-seed.mjs" "$app/voiceagent-bench-seed.mjs"
  (cd "$app" && env AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$fake_dynamodb_port" \
     AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$fake_bedrock_port/_fake/credentials" \
     node voiceagent-bench-seed.mjs "$reference/configuration/dynamo-loaders/restaurantOrderingUseCase.mjs" reference >/tmp/bench-reference-seed.log 2>&1) \
    || { echo "seeding the reference's table failed" >&2; cat /tmp/bench-reference-seed.log >&2; exit 1; }
  (cd "$app" && exec env AWS_REGION=us-east-1 TABLE_NAME=reference STACK_USE_CASE=restaurantOrderingUseCase \
     WS_URL="ws://127.0.0.1:$reference_port/" MODEL_IDENTIFIER=us.amazon.nova-lite-v1:0 timeZone=America/Los_Angeles \
     AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$fake_dynamodb_port" AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:$fake_bedrock_port" \
     AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$fake_bedrock_port/_fake/credentials" \
     ${api_pin:-} node index.js >/tmp/bench-reference.log 2>&1) &
  echo $! >/tmp/bench-api-$reference_port.pid
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$reference_port/health" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "the reference app did not start" >&2; cat /tmp/bench-reference.log >&2; exit 1
}
