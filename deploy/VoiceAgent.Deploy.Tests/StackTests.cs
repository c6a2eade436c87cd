using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;

namespace VoiceAgent.Deploy.Tests;

/// <summary>Synthesizes the stack once (jsii is slow to start) and hands the template to every test.</summary>
public sealed class SynthesizedTemplate
{
    public SynthesizedTemplate()
    {
        var app = new App();
        var stack = new VoiceAgentStack(app, "VoiceAgent", new VoiceAgentStackProps
        {
            Env = new Amazon.CDK.Environment { Account = "111111111111", Region = "us-east-1" },
            PublicBaseUrl = "https://voice.example.com",
            CertificateArn = "arn:aws:acm:us-east-1:111111111111:certificate/abc",
            TwilioSecretName = "voiceagent/twilio-auth-token",
            InferenceProfiles = ["us.amazon.nova-lite-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"],
        });
        Template = Template.FromStack(stack);
        Json = JsonDocument.Parse(JsonSerializer.Serialize(Template.ToJSON())).RootElement.Clone();
    }

    public Template Template { get; }

    public JsonElement Json { get; }

    public IEnumerable<JsonElement> Resources(string type) =>
        Json.GetProperty("Resources").EnumerateObject().Select(r => r.Value).Where(r => r.GetProperty("Type").GetString() == type);
}

public sealed class StackTests(SynthesizedTemplate stack) : IClassFixture<SynthesizedTemplate>
{
    [Fact]
    public void The_table_is_on_demand_with_pitr_kms_ttl_and_the_documented_keys()
    {
        var table = Assert.Single(stack.Resources("AWS::DynamoDB::Table")).GetProperty("Properties");
        Assert.Equal("PAY_PER_REQUEST", table.GetProperty("BillingMode").GetString());
        Assert.True(table.GetProperty("PointInTimeRecoverySpecification").GetProperty("PointInTimeRecoveryEnabled").GetBoolean());
        Assert.Equal("KMS", table.GetProperty("SSESpecification").GetProperty("SSEType").GetString());
        Assert.Equal("expiresAt", table.GetProperty("TimeToLiveSpecification").GetProperty("AttributeName").GetString());
        Assert.Equal(["pk", "sk"], table.GetProperty("KeySchema").EnumerateArray().Select(k => k.GetProperty("AttributeName").GetString()));
        Assert.Equal("gsi1", table.GetProperty("GlobalSecondaryIndexes")[0].GetProperty("IndexName").GetString());
        stack.Template.HasResourceProperties("AWS::KMS::Key", new Dictionary<string, object> { ["EnableKeyRotation"] = true });
    }

    [Fact]
    public void The_service_runs_on_fargate_in_private_subnets_with_an_image_from_ecr()
    {
        Assert.Single(stack.Resources("AWS::ECR::Repository"));
        var service = Assert.Single(stack.Resources("AWS::ECS::Service")).GetProperty("Properties");
        Assert.Equal("FARGATE", service.GetProperty("LaunchType").GetString());
        Assert.Equal("DISABLED", service.GetProperty("NetworkConfiguration").GetProperty("AwsvpcConfiguration").GetProperty("AssignPublicIp").GetString());
        var subnets = service.GetProperty("NetworkConfiguration").GetProperty("AwsvpcConfiguration").GetProperty("Subnets").GetRawText();
        Assert.Contains("PrivateSubnet", subnets, StringComparison.Ordinal);
        Assert.DoesNotContain("PublicSubnet", subnets, StringComparison.Ordinal);
    }

    [Fact]
    public void The_load_balancer_speaks_https_keeps_calls_open_and_drains_before_deregistering()
    {
        var listener = Assert.Single(stack.Resources("AWS::ElasticLoadBalancingV2::Listener")).GetProperty("Properties");
        Assert.Equal("HTTPS", listener.GetProperty("Protocol").GetString());
        Assert.Equal("arn:aws:acm:us-east-1:111111111111:certificate/abc", listener.GetProperty("Certificates")[0].GetProperty("CertificateArn").GetString());

        var lb = Assert.Single(stack.Resources("AWS::ElasticLoadBalancingV2::LoadBalancer")).GetProperty("Properties");
        Assert.True(Attribute(lb, "idle_timeout.timeout_seconds") >= 300);

        var group = Assert.Single(stack.Resources("AWS::ElasticLoadBalancingV2::TargetGroup")).GetProperty("Properties");
        Assert.True(Attribute(group, "deregistration_delay.timeout_seconds") >= 60, "deregistration delay must cover the drain window");
        Assert.Equal("/health/ready", group.GetProperty("HealthCheckPath").GetString());
    }

    [Fact]
    public void It_scales_on_cpu_and_on_active_calls()
    {
        var target = Assert.Single(stack.Resources("AWS::ApplicationAutoScaling::ScalableTarget")).GetProperty("Properties");
        Assert.Equal(2, target.GetProperty("MinCapacity").GetInt32());
        var policies = stack.Resources("AWS::ApplicationAutoScaling::ScalingPolicy").Select(p => p.GetProperty("Properties").GetRawText()).ToList();
        Assert.Contains(policies, p => p.Contains("ECSServiceAverageCPUUtilization", StringComparison.Ordinal));
        var metric = stack.Resources("AWS::ApplicationAutoScaling::ScalingPolicy")
            .Select(p => p.GetProperty("Properties").GetProperty("TargetTrackingScalingPolicyConfiguration"))
            .Single(c => c.TryGetProperty("CustomizedMetricSpecification", out _))
            .GetProperty("CustomizedMetricSpecification");
        Assert.Equal("VoiceAgent", metric.GetProperty("Namespace").GetString());
        Assert.Equal("ActiveCalls", metric.GetProperty("MetricName").GetString());
        Assert.False(metric.TryGetProperty("Dimensions", out var dimensions) && dimensions.GetArrayLength() > 0);

        // The tasks publish that metric themselves (embedded metric format in their logs).
        var container = Assert.Single(stack.Resources("AWS::ECS::TaskDefinition")).GetProperty("Properties").GetProperty("ContainerDefinitions")[0];
        Assert.Contains(container.GetProperty("Environment").EnumerateArray(), e =>
            e.GetProperty("Name").GetString() == "Observability__CloudWatchActiveCalls" && e.GetProperty("Value").GetString() == "true");
        Assert.Contains(container.GetProperty("Environment").EnumerateArray(), e =>
            e.GetProperty("Name").GetString() == "Http__TrustForwardedHeaders" && e.GetProperty("Value").GetString() == "true");
    }

    [Fact]
    public void The_task_role_may_only_stream_from_the_configured_models_and_use_the_one_table()
    {
        var statements = stack.Resources("AWS::IAM::Policy")
            .SelectMany(p => p.GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .ToList();
        var bedrock = Assert.Single(statements, s => s.GetProperty("Action").GetRawText().Contains("bedrock:", StringComparison.Ordinal));
        Assert.Equal("bedrock:InvokeModelWithResponseStream", bedrock.GetProperty("Action").GetString());
        var resources = bedrock.GetProperty("Resource").GetRawText();
        Assert.Contains("inference-profile/us.amazon.nova-lite-v1:0", resources, StringComparison.Ordinal);
        Assert.Contains("foundation-model/amazon.nova-lite-v1:0", resources, StringComparison.Ordinal);
        Assert.Contains("foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0", resources, StringComparison.Ordinal);
        Assert.DoesNotContain("\"*\"", resources, StringComparison.Ordinal);

        var dynamo = Assert.Single(statements, s => s.GetProperty("Action").GetRawText().Contains("dynamodb:", StringComparison.Ordinal));
        Assert.DoesNotContain("dynamodb:*", dynamo.GetProperty("Action").GetRawText(), StringComparison.Ordinal);

        // Every write the service makes: items put, updated (call records) and deleted, alone, in transactions or in
        // the journal's shared batches.
        var actions = dynamo.GetProperty("Action").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal(
            ["dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            actions.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Scan", dynamo.GetProperty("Action").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("TableCD117FA1", dynamo.GetProperty("Resource").GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(statements, s => s.TryGetProperty("Resource", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() == "*"
            && s.GetProperty("Action").GetRawText().Contains("dynamodb", StringComparison.Ordinal));
    }

    [Fact]
    public void The_twilio_token_comes_from_secrets_manager_and_the_container_gets_time_to_drain()
    {
        var container = Assert.Single(stack.Resources("AWS::ECS::TaskDefinition")).GetProperty("Properties").GetProperty("ContainerDefinitions")[0];
        var secret = Assert.Single(container.GetProperty("Secrets").EnumerateArray());
        Assert.Equal("Twilio__AuthToken", secret.GetProperty("Name").GetString());
        Assert.Contains("secretsmanager", secret.GetProperty("ValueFrom").GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(container.GetProperty("Environment").EnumerateArray(), e => e.GetProperty("Name").GetString() == "Twilio__AuthToken");
        Assert.True(container.GetProperty("StopTimeout").GetInt32() >= 60);
        Assert.Equal(8080, container.GetProperty("PortMappings")[0].GetProperty("ContainerPort").GetInt32());
    }

    private static int Attribute(JsonElement resource, string key)
    {
        var attribute = resource.GetProperty(resource.TryGetProperty("LoadBalancerAttributes", out _) ? "LoadBalancerAttributes" : "TargetGroupAttributes")
            .EnumerateArray().Single(a => a.GetProperty("Key").GetString() == key);
        return int.Parse(attribute.GetProperty("Value").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }
}
