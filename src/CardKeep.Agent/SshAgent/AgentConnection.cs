using System.Security.Cryptography;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.Keys;
using CardKeep.Cards;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent.SshAgent;

/// <summary>
/// The SSH agent protocol for one client connection: one message in (type and body, without the length), one answer out.
/// Everything that is malformed, unknown or not allowed gets SSH_AGENT_FAILURE and the connection stays usable; nothing
/// a client sends can make <see cref="Handle"/> throw. The caller (the daemon) owns framing and closes a connection
/// whose length field is over 256 KiB.
/// </summary>
public sealed class AgentConnection
{
    private static readonly byte[] _failure = [AgentProtocol.Failure];
    private static readonly byte[] _success = [AgentProtocol.Success];
    private readonly KeyStoreManager _keys;
    private readonly IConfirmer _confirmer;
    private readonly ILogger _logger;
    private readonly List<SessionBinding> _bindings = [];

    public AgentConnection(PeerCredentials peer, KeyStoreManager keys, IConfirmer confirmer, ILogger logger)
    {
        Peer = peer;
        _keys = keys;
        _confirmer = confirmer;
        _logger = logger;
    }

    public PeerCredentials Peer { get; }

    /// <summary>True once the client said (session-bind, is_forwarding=1) that this connection carries a forwarded agent.</summary>
    public bool IsForwarded => _bindings.Any(b => b.Forwarding);

    public IReadOnlyList<SessionBinding> Bindings => _bindings;

    /// <summary>Answers one message. <paramref name="message"/> is the type byte followed by the body.</summary>
    public byte[] Handle(ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty)
        {
            return _failure;
        }

        byte type = message[0];
        var body = message[1..];
        try
        {
            if (_keys.IsLocked(Peer.Uid) && type is not (AgentProtocol.RequestIdentities or AgentProtocol.Unlock))
            {
                AgentLog.RefusedWhileLocked(_logger, type, Peer.Uid);
                return _failure;
            }

            return type switch
            {
                AgentProtocol.RequestIdentities => ListIdentities(),
                AgentProtocol.SignRequest => Sign(body),
                AgentProtocol.AddIdentity => Add(body, constrained: false),
                AgentProtocol.AddIdConstrained => Add(body, constrained: true),
                AgentProtocol.RemoveIdentity => Remove(body),
                AgentProtocol.RemoveAllIdentities or AgentProtocol.RemoveAllRsaIdentitiesV1 => RemoveAll(body),
                AgentProtocol.Lock => LockOrUnlock(body, lockIt: true),
                AgentProtocol.Unlock => LockOrUnlock(body, lockIt: false),
                AgentProtocol.Extension => Extension(body),
                AgentProtocol.AddSmartcardKey or AgentProtocol.AddSmartcardKeyConstrained or AgentProtocol.RemoveSmartcardKey => Smartcard(type),
                _ => Unknown(type),
            };
        }
        catch (SshFormatException e)
        {
            AgentLog.BadMessage(_logger, type, Peer.Uid, e.Message);
            return _failure;
        }
        catch (CryptographicException e)
        {
            AgentLog.CryptoFailed(_logger, type, Peer.Uid, e.Message);
            return _failure;
        }
        catch (CardException e)
        {
            AgentLog.CardFailed(_logger, Peer.Uid, e.Message);
            return _failure;
        }
        catch (KeyUnavailableException e)
        {
            AgentLog.CardFailed(_logger, Peer.Uid, e.Message);
            return _failure;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Not expected from any input (the fuzz tests find none); a refusal is still the right answer.
            AgentLog.BadMessage(_logger, type, Peer.Uid, e.Message);
            return _failure;
        }
    }

    private byte[] ListIdentities()
    {
        var identities = _keys.List(Peer.Uid);
        using var writer = new SshWriter(1024);
        writer.WriteByte(AgentProtocol.IdentitiesAnswer).WriteUInt32((uint)identities.Count);
        foreach (var identity in identities)
        {
            writer.WriteString(identity.Key.PublicKey.Blob.Span).WriteString(identity.Key.Comment);
        }

        return writer.ToArray();
    }

    private byte[] Sign(ReadOnlySpan<byte> body)
    {
        var reader = new SshReader(body);
        var blob = reader.ReadString();
        var data = reader.ReadString();
        uint flags = reader.ReadUInt32();
        reader.ThrowIfNotEmpty("sign request");
        var identity = _keys.Find(Peer.Uid, blob);
        if (identity is null)
        {
            AgentLog.SignUnknownKey(_logger, Peer.Uid);
            return _failure;
        }

        var key = identity.Key;
        bool forwarded = IsForwarded;
        if (forwarded && _keys.Options.Forwarding == ForwardingPolicy.Deny)
        {
            AgentLog.ForwardedRefused(_logger, key.PublicKey.Fingerprint, Peer.Uid);
            return _failure;
        }

        if (identity.Confirm || (forwarded && _keys.Options.Forwarding == ForwardingPolicy.Confirm))
        {
            if (!_confirmer.Confirm(new ConfirmRequest(Peer, key.Comment, key.PublicKey.Fingerprint, forwarded)))
            {
                return _failure;
            }
        }

        var signature = key.SignSsh(data, flags);
        AgentLog.Signed(_logger, key.PublicKey.Fingerprint, key.Source, Peer.Uid, Peer.Pid, forwarded, flags);
        using var writer = new SshWriter(signature.Length + 8);
        return writer.WriteByte(AgentProtocol.SignResponse).WriteString(signature).ToArray();
    }

    private byte[] Add(ReadOnlySpan<byte> body, bool constrained)
    {
        var reader = new SshReader(body);
        SoftwareKey? key = null;
        try
        {
            // The whole message, constraints included, is parsed before the key is kept anywhere.
            key = SoftwareKey.ReadPrivate(ref reader, string.Empty, KeySource.Added);
            string comment = System.Text.Encoding.UTF8.GetString(reader.ReadString());
            TimeSpan? lifetime = null;
            bool confirm = false;
            if (constrained)
            {
                ReadConstraints(ref reader, out lifetime, out confirm);
            }

            reader.ThrowIfNotEmpty("add identity");
            key.Comment = comment;
            if (!_keys.AddKey(Peer.Uid, key, lifetime, confirm))
            {
                AgentLog.AddRefused(_logger, Peer.Uid, _keys.Options.MaxAddedKeysPerUser);
                return _failure;
            }

            AgentLog.Added(_logger, key.PublicKey.Fingerprint, Peer.Uid, lifetime?.TotalSeconds ?? 0, confirm);
            key = null;
            return _success;
        }
        finally
        {
            key?.Dispose();
        }
    }

    private void ReadConstraints(ref SshReader reader, out TimeSpan? lifetime, out bool confirm)
    {
        lifetime = null;
        confirm = false;
        while (!reader.IsEmpty)
        {
            byte constraint = reader.ReadByte();
            switch (constraint)
            {
                case AgentProtocol.ConstrainLifetime:
                    if (lifetime is not null)
                    {
                        throw new SshFormatException("the lifetime constraint appears twice");
                    }

                    lifetime = TimeSpan.FromSeconds(reader.ReadUInt32());
                    break;
                case AgentProtocol.ConstrainConfirm:
                    confirm = true;
                    break;
                case AgentProtocol.ConstrainExtension:
                    string name = reader.ReadAscii();
                    AgentLog.UnsupportedConstraint(_logger, name, Peer.Uid);
                    throw new SshFormatException($"key constraint extension '{name}' is not supported");
                default:
                    AgentLog.UnsupportedConstraint(_logger, constraint.ToString(System.Globalization.CultureInfo.InvariantCulture), Peer.Uid);
                    throw new SshFormatException("unknown key constraint");
            }
        }
    }

    private byte[] Remove(ReadOnlySpan<byte> body)
    {
        var reader = new SshReader(body);
        var blob = reader.ReadString();
        reader.ThrowIfNotEmpty("remove identity");
        if (_keys.RemoveKey(Peer.Uid, blob))
        {
            return _success;
        }

        if (_keys.Find(Peer.Uid, blob) is { } sessionKey)
        {
            AgentLog.RemoveSessionKey(_logger, sessionKey.Key.PublicKey.Fingerprint, Peer.Uid);
        }

        return _failure;
    }

    private byte[] RemoveAll(ReadOnlySpan<byte> body)
    {
        if (!body.IsEmpty)
        {
            throw new SshFormatException("remove-all has no body");
        }

        return _keys.RemoveAllAdded(Peer.Uid) ? _success : _failure;
    }

    private byte[] LockOrUnlock(ReadOnlySpan<byte> body, bool lockIt)
    {
        var reader = new SshReader(body);
        var passphrase = reader.ReadString();
        reader.ThrowIfNotEmpty(lockIt ? "lock" : "unlock");
        bool done = lockIt ? _keys.Lock(Peer.Uid, passphrase) : _keys.Unlock(Peer.Uid, passphrase);
        AgentLog.LockChanged(_logger, Peer.Uid, (lockIt, done) switch
        {
            (true, true) => "locked",
            (true, false) => "lock refused (already locked)",
            (false, true) => "unlocked",
            (false, false) => "unlock refused",
        });
        return done ? _success : _failure;
    }

    private byte[] Extension(ReadOnlySpan<byte> body)
    {
        var reader = new SshReader(body);
        string name = reader.ReadAscii();
        if (name != AgentProtocol.SessionBindExtension)
        {
            AgentLog.UnknownExtension(_logger, name, Peer.Uid);
            return _failure;
        }

        var hostKey = SshPublicKey.Parse(reader.ReadString());
        byte[] sessionId = reader.ReadString().ToArray();
        var signature = reader.ReadString();
        bool forwarding = reader.ReadBool();
        reader.ThrowIfNotEmpty("session-bind");
        string? refusal = sessionId.Length > AgentProtocol.MaxSessionIdLength ? "session id longer than 128 bytes"
            : _bindings.Count >= AgentProtocol.MaxSessionBindings ? "more than 16 bindings on one connection"
            : _bindings.Any(b => !b.Forwarding) ? "the connection is already bound for authentication"
            : _bindings.Any(b => CryptographicOperations.FixedTimeEquals(b.SessionId, sessionId)) ? "the session id is already bound"
            : !hostKey.Verify(sessionId, signature) ? "the host key's signature over the session id does not verify"
            : null;
        if (refusal is not null)
        {
            AgentLog.SessionBindRefused(_logger, Peer.Uid, refusal);
            return _failure;
        }

        _bindings.Add(new SessionBinding(hostKey, sessionId, forwarding));
        AgentLog.SessionBound(_logger, Peer.Uid, hostKey.Fingerprint, forwarding);
        return _success;
    }

    private byte[] Smartcard(byte type)
    {
        AgentLog.SmartcardMessage(_logger, type, Peer.Uid);
        return _failure;
    }

    private byte[] Unknown(byte type)
    {
        AgentLog.UnknownMessage(_logger, type, Peer.Uid);
        return _failure;
    }
}

/// <summary>One session-bind@openssh.com the client sent on a connection.</summary>
public sealed record SessionBinding(SshPublicKey HostKey, byte[] SessionId, bool Forwarding);
