using Amazon.CDK;
using VoiceAgent.Deploy;

// cdk synth / cdk deploy from deploy/ (cdk.json). Settings come from context (cdk.json or -c key=value).
var app = new App();
string Context(string key) => app.Node.TryGetContext("voiceagent:" + key) as string
    ?? throw new InvalidOperationException($"Context voiceagent:{key} is required (cdk.json or -c voiceagent:{key}=...).");

new VoiceAgentStack(app, "VoiceAgent", new VoiceAgentStackProps
{
    Env = new Amazon.CDK.Environment { Account = System.Environment.GetEnvironmentVariable("CDK_DEFAULT_ACCOUNT"), Region = System.Environment.GetEnvironmentVariable("CDK_DEFAULT_REGION") },
    PublicBaseUrl = Context("publicBaseUrl"),
    CertificateArn = Context("certificateArn"),
    TwilioSecretName = Context("twilioSecretName"),
    InferenceProfiles = Context("inferenceProfiles").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    ImageTag = Context("imageTag"),
});
app.Synth();
