using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.ECR;
using Amazon.CDK.AWS.ECS;
using Amazon.CDK.AWS.ElasticLoadBalancingV2;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Logs;
using Constructs;
using Attribute = Amazon.CDK.AWS.DynamoDB.Attribute;
using EcsHealthCheck = Amazon.CDK.AWS.ECS.HealthCheck;
using EcsSecret = Amazon.CDK.AWS.ECS.Secret;
using LbHealthCheck = Amazon.CDK.AWS.ElasticLoadBalancingV2.HealthCheck;

namespace VoiceAgent.Deploy;

/// <summary>What differs per environment.</summary>
public sealed class VoiceAgentStackProps : StackProps
{
    /// <summary>The public https URL Twilio calls (Twilio:PublicBaseUrl).</summary>
    public required string PublicBaseUrl { get; init; }

    /// <summary>ACM certificate for the HTTPS listener.</summary>
    public required string CertificateArn { get; init; }

    /// <summary>Secrets Manager secret holding the Twilio auth token (plain string).</summary>
    public required string TwilioSecretName { get; init; }

    /// <summary>Inference profiles the task may invoke (the use cases' model.inferenceProfiles).</summary>
    public required IReadOnlyList<string> InferenceProfiles { get; init; }

    public string ImageTag { get; init; } = "latest";

    /// <summary>Must match the app's Relay:DrainTimeout; the target group's deregistration delay is set above it.</summary>
    public int DrainSeconds { get; init; } = 60;
}

/// <summary>
/// VoiceAgent on AWS: one DynamoDB table (on demand, PITR, KMS, TTL), an ECR repository, and the service on Fargate
/// in private subnets behind an HTTPS ALB whose idle timeout outlives long calls, scaled on CPU and active calls,
/// with a task role that may only stream from the configured models and use the one table.
/// </summary>
public sealed class VoiceAgentStack : Stack
{
    public VoiceAgentStack(Construct scope, string id, VoiceAgentStackProps props)
        : base(scope, id, props)
    {
        ArgumentNullException.ThrowIfNull(props);

        var key = new Key(this, "TableKey", new KeyProps { EnableKeyRotation = true, Description = "VoiceAgent table encryption" });
        var table = new Table(this, "Table", new TableProps
        {
            PartitionKey = new Attribute { Name = "pk", Type = AttributeType.STRING },
            SortKey = new Attribute { Name = "sk", Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            PointInTimeRecovery = true,
            Encryption = TableEncryption.CUSTOMER_MANAGED,
            EncryptionKey = key,
            TimeToLiveAttribute = "expiresAt",
            RemovalPolicy = RemovalPolicy.RETAIN,
        });
        table.AddGlobalSecondaryIndex(new GlobalSecondaryIndexProps
        {
            IndexName = "gsi1",
            PartitionKey = new Attribute { Name = "gsi1pk", Type = AttributeType.STRING },
            SortKey = new Attribute { Name = "gsi1sk", Type = AttributeType.STRING },
            ProjectionType = ProjectionType.ALL,
        });

        var repository = new Repository(this, "Repository", new RepositoryProps { ImageScanOnPush = true, RemovalPolicy = RemovalPolicy.RETAIN });
        var vpc = new Vpc(this, "Vpc", new VpcProps { MaxAzs = 2, NatGateways = 2 });
        var cluster = new Cluster(this, "Cluster", new ClusterProps { Vpc = vpc, ContainerInsights = true });
        var twilioToken = Amazon.CDK.AWS.SecretsManager.Secret.FromSecretNameV2(this, "TwilioAuthToken", props.TwilioSecretName);

        var role = new Role(this, "TaskRole", new RoleProps { AssumedBy = new ServicePrincipal("ecs-tasks.amazonaws.com") });
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "StreamFromConfiguredModels",
            Actions = ["bedrock:InvokeModelWithResponseStream"],
            Resources = ModelArns(props.InferenceProfiles),
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "UseTheOneTable",
            // Exactly what the service calls; TransactWriteItems is authorised per item by Put/Update/DeleteItem, while
            // BatchWriteItem (the journal's shared text writes) is an action of its own. Queries on the index list a
            // day's calls (the post-call sweep); API keys, post-call records and retention use Get/Put/UpdateItem.
            Actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
            Resources = [table.TableArn, table.TableArn + "/index/*"],
        }));
        key.GrantEncryptDecrypt(role);

        var task = new FargateTaskDefinition(this, "Task", new FargateTaskDefinitionProps
        {
            Cpu = 1024,
            MemoryLimitMiB = 2048,
            TaskRole = role,
            RuntimePlatform = new RuntimePlatform { CpuArchitecture = CpuArchitecture.X86_64, OperatingSystemFamily = OperatingSystemFamily.LINUX },
        });
        task.AddContainer("api", new ContainerDefinitionOptions
        {
            Image = ContainerImage.FromEcrRepository(repository, props.ImageTag),
            PortMappings = [new PortMapping { ContainerPort = 8080 }],
            Environment = new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Twilio__PublicBaseUrl"] = props.PublicBaseUrl,
                ["Store__Provider"] = "DynamoDb",
                ["Store__DynamoDb__TableName"] = table.TableName,
                ["Store__DynamoDb__Region"] = Aws.REGION,
                ["Llm__Provider"] = "Bedrock",
                ["Bedrock__Region"] = Aws.REGION,
                // Only the load balancer reaches the task: the client address for the failed-signature limiter is the
                // one it appends to X-Forwarded-For.
                ["Http__TrustForwardedHeaders"] = "true",
                ["Relay__DrainTimeout"] = TimeSpan.FromSeconds(props.DrainSeconds).ToString("c", System.Globalization.CultureInfo.InvariantCulture),

                // VoiceAgent/ActiveCalls for the scaling policy below, as embedded-metric-format lines in the logs.
                ["Observability__CloudWatchActiveCalls"] = "true",
            },
            Secrets = new Dictionary<string, EcsSecret> { ["Twilio__AuthToken"] = EcsSecret.FromSecretsManager(twilioToken) },
            Logging = LogDriver.AwsLogs(new AwsLogDriverProps { StreamPrefix = "voiceagent", LogRetention = RetentionDays.ONE_MONTH }),
            HealthCheck = new EcsHealthCheck { Command = ["CMD", "dotnet", "VoiceAgent.Api.dll", "healthcheck"], Interval = Duration.Seconds(15), StartPeriod = Duration.Seconds(30) },

            // SIGTERM → drain window → the rest of the shutdown; Fargate allows up to 120 s.
            StopTimeout = Duration.Seconds(Math.Min(120, props.DrainSeconds + 30)),
        });

        var service = new FargateService(this, "Service", new FargateServiceProps
        {
            Cluster = cluster,
            TaskDefinition = task,
            DesiredCount = 2,
            AssignPublicIp = false,
            VpcSubnets = new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS },
            MinHealthyPercent = 100,
            MaxHealthyPercent = 200,
            CircuitBreaker = new DeploymentCircuitBreaker { Rollback = true },
        });

        // Calls are long-lived WebSockets: the idle timeout must outlive the quiet stretches of a call.
        var alb = new ApplicationLoadBalancer(this, "Alb", new ApplicationLoadBalancerProps { Vpc = vpc, InternetFacing = true, IdleTimeout = Duration.Seconds(900) });
        var https = alb.AddListener("Https", new BaseApplicationListenerProps
        {
            Port = 443,
            Protocol = ApplicationProtocol.HTTPS,
            Certificates = [ListenerCertificate.FromArn(props.CertificateArn)],
            SslPolicy = SslPolicy.RECOMMENDED_TLS,
        });
        https.AddTargets("Api", new AddApplicationTargetsProps
        {
            Port = 8080,
            Protocol = ApplicationProtocol.HTTP,
            Targets = [service],
            DeregistrationDelay = Duration.Seconds(props.DrainSeconds + 15),
            HealthCheck = new LbHealthCheck { Path = "/health/ready", Interval = Duration.Seconds(10), HealthyThresholdCount = 2, UnhealthyThresholdCount = 2 },
        });

        var scaling = service.AutoScaleTaskCount(new Amazon.CDK.AWS.ApplicationAutoScaling.EnableScalingProps { MinCapacity = 2, MaxCapacity = 20 });
        scaling.ScaleOnCpuUtilization("Cpu", new CpuUtilizationScalingProps { TargetUtilizationPercent = 50 });

        // Live calls per task, printed by each task every 15 s in CloudWatch's embedded metric format (no dimensions):
        // the awslogs driver ships the lines and CloudWatch extracts VoiceAgent/ActiveCalls; no collector needed.
        scaling.ScaleToTrackCustomMetric("ActiveCalls", new TrackCustomMetricProps
        {
            Metric = new Metric(new MetricProps { Namespace = "VoiceAgent", MetricName = "ActiveCalls", Statistic = "Average", Period = Duration.Minutes(1) }),
            TargetValue = 400,
        });

        new CfnOutput(this, "LoadBalancerDns", new CfnOutputProps { Value = alb.LoadBalancerDnsName });
        new CfnOutput(this, "RepositoryUri", new CfnOutputProps { Value = repository.RepositoryUri });
        new CfnOutput(this, "TableName", new CfnOutputProps { Value = table.TableName });
    }

    /// <summary>Each inference profile, and the foundation model it routes to (in any region the profile spans).</summary>
    internal static string[] ModelArns(IReadOnlyList<string> profiles)
    {
        var arns = new List<string>();
        foreach (var profile in profiles)
        {
            var parts = profile.Split('.', 2);
            var isProfile = parts.Length == 2 && parts[0] is "us" or "eu" or "apac" or "global" or "us-gov";
            if (isProfile)
            {
                arns.Add($"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:inference-profile/{profile}");
                arns.Add($"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{parts[1]}");
            }
            else
            {
                arns.Add($"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{profile}");
            }
        }

        return [.. arns];
    }
}
