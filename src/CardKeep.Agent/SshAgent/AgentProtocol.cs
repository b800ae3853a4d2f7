namespace CardKeep.Agent.SshAgent;

/// <summary>
/// Message numbers, flags and limits of the SSH agent protocol (draft-miller-ssh-agent, OpenSSH <c>authfd.h</c> and
/// <c>PROTOCOL.agent</c>). See docs/agent.md for which ones the agent answers and how.
/// </summary>
public static class AgentProtocol
{
    /// <summary>OpenSSH drops a connection whose message length exceeds 256 KiB (<c>AGENT_MAX_LEN</c>); so does this agent.</summary>
    public const int MaxMessageLength = 256 * 1024;

    public const byte Failure = 5;
    public const byte Success = 6;
    public const byte RemoveAllRsaIdentitiesV1 = 9;
    public const byte RequestIdentities = 11;
    public const byte IdentitiesAnswer = 12;
    public const byte SignRequest = 13;
    public const byte SignResponse = 14;
    public const byte AddIdentity = 17;
    public const byte RemoveIdentity = 18;
    public const byte RemoveAllIdentities = 19;
    public const byte AddSmartcardKey = 20;
    public const byte RemoveSmartcardKey = 21;
    public const byte Lock = 22;
    public const byte Unlock = 23;
    public const byte AddIdConstrained = 25;
    public const byte AddSmartcardKeyConstrained = 26;
    public const byte Extension = 27;

    /// <summary>Sign flag: answer an RSA request with <c>rsa-sha2-256</c>.</summary>
    public const uint FlagRsaSha256 = 0x02;

    /// <summary>Sign flag: answer an RSA request with <c>rsa-sha2-512</c>.</summary>
    public const uint FlagRsaSha512 = 0x04;

    public const byte ConstrainLifetime = 0x01;
    public const byte ConstrainConfirm = 0x02;
    public const byte ConstrainMaxSign = 0x03;
    public const byte ConstrainExtension = 0xFF;

    public const string SessionBindExtension = "session-bind@openssh.com";

    /// <summary>OpenSSH keeps at most 16 bindings per connection.</summary>
    public const int MaxSessionBindings = 16;

    /// <summary>OpenSSH refuses a session id longer than 128 bytes.</summary>
    public const int MaxSessionIdLength = 128;
}
