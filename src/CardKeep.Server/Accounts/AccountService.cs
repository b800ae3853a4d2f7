using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using CardKeep.Protocol;
using CardKeep.Protocol.Recovery;
using CardKeep.Protocol.Registration;
using CardKeep.Server.Hosting;
using CardKeep.Server.Registration;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Accounts;

/// <summary>
/// Accounts, cards, machines and access keys, password and card sign-in, recovery, replacement, escrow and audit
/// (docs/recovery.md). Refusals are <see cref="AccountException"/>s; nothing here logs or returns a secret except the
/// access keys, bearer tokens and activation codes it issues (once, to their owner).
/// </summary>
public sealed partial class AccountService(
    IServerStore store,
    ServerOptions serverOptions,
    ServerSecrets serverSecrets,
    AccountSecrets secrets,
    AccountThrottle throttle,
    IEnumerable<ICardReplacementParticipant> participants,
    TimeProvider clock,
    ITrk1Random random,
    ILogger<AccountService> logger)
{
    private const int MinMachineSecretBytes = 32;
    private readonly AccountOptions _options = serverOptions.Accounts;

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex MachineIdPattern();

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex SerialPattern();

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- challenges

    /// <summary>Issues a single-use nonce for a card proof.</summary>
    public async Task<ChallengeResponse> ChallengeAsync(ChallengeRequest request, CancellationToken cancellationToken)
    {
        string username = Username(request.Username);
        string serial = CardSerial(request.CardSerial);
        if (!CardProofPurpose.IsKnown(request.Purpose))
        {
            throw AccountException.BadInput("purpose must be register, login or replace");
        }

        var nonce = random.Bytes(CardProof.NonceBytes);
        var expires = clock.GetUtcNow().AddSeconds(_options.ChallengeSeconds);
        await store.AddChallengeAsync(new ChallengeRecord(AccountSecrets.Sha256(nonce), username, serial, request.Purpose!, expires.ToUnixTimeMilliseconds()), Now, cancellationToken).ConfigureAwait(false);
        return new ChallengeResponse(nonce, expires);
    }

    /// <summary>True when the nonce was issued for exactly this purpose, user and card, is unexpired, and the signature verifies. The nonce is used up either way.</summary>
    private async Task<bool> CheckProofAsync(string purpose, string username, string serial, byte[] publicKey, byte[]? nonce, byte[]? signature, CancellationToken cancellationToken)
    {
        if (nonce is not { Length: CardProof.NonceBytes } || signature is not { Length: > 0 })
        {
            return false;
        }

        var challenge = await store.TakeChallengeAsync(AccountSecrets.Sha256(nonce), cancellationToken).ConfigureAwait(false);
        return challenge is not null && challenge.ExpiresAt > Now && challenge.Purpose == purpose
            && challenge.Username == username && challenge.CardSerial == serial
            && CardProof.Verify(publicKey, purpose, username, serial, nonce, signature);
    }

    // ---- registration

    /// <summary>Registers an account (see docs/recovery.md, "Register").</summary>
    public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string username = Username(request.Username);
        string password = Password(request.Password);
        string question = Text(request.Question, "question", 1, 200);
        string answer = AccountSecrets.NormaliseAnswer(Text(request.Answer, "answer", 1, 200));
        string fullName = Text(request.FullName, "fullName", 1, 200);
        string email = Text(request.Email, "email", 3, 254);
        if (!email.Contains('@', StringComparison.Ordinal))
        {
            throw AccountException.BadInput("email must be an e-mail address");
        }

        var machine = request.Machine ?? throw AccountException.BadInput("machine is required: {id, serial, secret}");
        string machineId = MachineId(machine.Id);
        string machineSerial = Text(machine.Serial, "machine.serial", 1, 128);
        byte[] secretHash = MachineSecretHash(machine.Secret);
        var (card, cardRequest) = NewCard(request.Card, username, AccountCardValues.Primary, null, Now);
        string code = Text(request.ActivationCode, "activationCode", 1, 64);

        if (!await CheckProofAsync(CardProofPurpose.Register, username, card.Serial, card.PublicKey, cardRequest.Nonce, cardRequest.Signature, cancellationToken).ConfigureAwait(false))
        {
            AccountLog.Refused(logger, "registration", remote, "card proof");
            throw new AccountException(403, "registration refused");
        }

        long now = Now;
        using var key = NewAccessKey(out string verifier);
        var (tokenCode, tokenCodeRecord) = NewActivationCode(username);
        var account = new AccountRecord(username, secrets.HashText(password), question, secrets.HashText(answer), fullName, email, now, 0, AuditChain.Genesis);
        var machineRecord = new MachineRecord(username, machineId, machineSerial, secretHash, verifier, now, null, now);
        var result = await store.CreateAccountAsync(account, card, machineRecord, ActivationCodes.Hash(serverSecrets.ActivationKey, code), tokenCodeRecord,
            [Audit("registered", new { cardSerial = card.Serial, machineId, machineSerial }), Audit("access-key-issued", new { machineId, reason = "registration" })],
            now, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case CreateAccountResult.CodeInvalid:
                AccountLog.Refused(logger, "registration", remote, "activation code");
                throw new AccountException(403, "registration refused");
            case CreateAccountResult.AccountExists:
                throw new AccountException(409, "an account with this user name exists: sign in, or recover it");
            case CreateAccountResult.CardExists:
                throw new AccountException(409, "this card is already registered to an account");
        }

        AccountLog.Registered(logger, username, card.Serial, machineId);
        return new RegisterResponse(username, card.Serial, machineId, key.ToString(), tokenCode, DateTimeOffset.FromUnixTimeMilliseconds(tokenCodeRecord.ExpiresAt));
    }

    // ---- sign-in

    /// <summary>Card sign-in: a valid proof by the user's active card → scope "card".</summary>
    public async Task<SessionResponse> CardLoginAsync(CardLoginRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string username = Username(request.Username);
        string serial = CardSerial(request.CardSerial);
        var card = await store.GetCardAsync(serial, cancellationToken).ConfigureAwait(false);
        bool ok = card is not null && card.Username == username && card.StateAt(Now) == AccountCardValues.Active
            && await CheckProofAsync(CardProofPurpose.Login, username, serial, card.PublicKey, request.Nonce, request.Signature, cancellationToken).ConfigureAwait(false);
        if (!ok)
        {
            AccountLog.Refused(logger, "card sign-in", remote, card is null ? "unknown card" : card.StateAt(Now) != AccountCardValues.Active ? "card " + card.StateAt(Now) : "proof");
            throw AccountException.Failed();
        }

        return await NewSessionAsync(username, serial, AccountScopes.Card, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Password sign-in → scope "recovery".</summary>
    public async Task<SessionResponse> PasswordLoginAsync(PasswordLoginRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var account = await CheckPasswordAsync(request.Username, request.Password, request.Answer, remote, cancellationToken).ConfigureAwait(false);
        return await NewSessionAsync(account.Username, null, AccountScopes.Recovery, Audit("signin-password", new { ip = remote }), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The throttled password (+ answer) check. Unknown user, wrong password, wrong answer and lockout all end in the same
    /// <see cref="AccountException.Failed"/> after the same PBKDF2 work; a lockout adds Retry-After.
    /// </summary>
    private async Task<AccountRecord> CheckPasswordAsync(string? usernameText, string? password, string? answer, string? remote, CancellationToken cancellationToken)
    {
        string username = usernameText ?? string.Empty;
        bool canonical = Trk1Names.IsCanonicalUsername(username);
        var locked = canonical ? await throttle.LockedForAsync(AccountThrottle.Password, username, remote, cancellationToken).ConfigureAwait(false) : null;
        var account = canonical ? await store.GetAccountAsync(username, cancellationToken).ConfigureAwait(false) : null;
        bool passwordOk = secrets.VerifyText(password ?? string.Empty, account?.PasswordHash);
        bool answerOk = string.IsNullOrWhiteSpace(answer) || secrets.VerifyText(AccountSecrets.NormaliseAnswer(answer), account?.AnswerHash);
        if (locked is { } wait)
        {
            AccountLog.Refused(logger, "password", remote, "locked out");
            throw AccountException.Failed(wait);
        }

        if (account is null || !passwordOk || !answerOk)
        {
            AccountLog.Refused(logger, "password", remote, account is null ? "unknown or malformed user" : !passwordOk ? "wrong password" : "wrong answer");
            var started = canonical ? await throttle.FailureAsync(AccountThrottle.Password, username, remote, cancellationToken).ConfigureAwait(false) : null;
            throw AccountException.Failed(started);
        }

        await throttle.SuccessAsync(AccountThrottle.Password, username, cancellationToken).ConfigureAwait(false);
        return account;
    }

    private async Task<SessionResponse> NewSessionAsync(string username, string? cardSerial, string scope, AuditEvent? audit, CancellationToken cancellationToken)
    {
        var bytes = random.Bytes(32);
        string token = "ckb_" + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        CryptographicOperations.ZeroMemory(bytes);
        var now = clock.GetUtcNow();
        var expires = now.AddMinutes(_options.SessionMinutes);
        await store.AddSessionAsync(new AccountSessionRecord(AccountSecrets.Sha256(token), username, cardSerial, scope, now.ToUnixTimeMilliseconds(), expires.ToUnixTimeMilliseconds(), null),
            audit, now.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        return new SessionResponse(token, scope, username, cardSerial, expires);
    }

    /// <summary>
    /// The principal of a bearer token, or null: unknown, expired or revoked token, or (scope card) a card that is no
    /// longer active. <paramref name="requiredScope"/> null accepts both scopes.
    /// </summary>
    public async Task<AccountPrincipal?> AuthenticateAsync(string? bearer, string? requiredScope, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(bearer) || !bearer.StartsWith("ckb_", StringComparison.Ordinal) || bearer.Length > 100)
        {
            return null;
        }

        var hash = AccountSecrets.Sha256(bearer);
        var session = await store.GetSessionAsync(hash, cancellationToken).ConfigureAwait(false);
        long now = Now;
        if (session is null || session.RevokedAt is not null || session.ExpiresAt <= now || (requiredScope is not null && session.Scope != requiredScope))
        {
            return null;
        }

        if (session.CardSerial is not null)
        {
            var card = await store.GetCardAsync(session.CardSerial, cancellationToken).ConfigureAwait(false);
            if (card is null || card.Username != session.Username || card.StateAt(now) != AccountCardValues.Active)
            {
                return null;
            }
        }

        return new AccountPrincipal(session.Username, session.CardSerial, session.Scope, hash);
    }

    /// <summary>Ends a bearer session.</summary>
    public Task LogoutAsync(AccountPrincipal principal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return store.RevokeSessionAsync(principal.TokenHash, Now, cancellationToken);
    }

    // ---- recovery and access keys

    /// <summary>Lost card: password (+ answer) and machine id → a new access key for that machine and a recovery-scoped token.</summary>
    public async Task<RecoverResponse> RecoverAsync(RecoverRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string machineId = MachineId(request.MachineId);
        var account = await CheckPasswordAsync(request.Username, request.Password, request.Answer, remote, cancellationToken).ConfigureAwait(false);
        using var key = NewAccessKey(out string verifier);
        if (!await store.SetMachineKeyAsync(account.Username, machineId, verifier, Audit("recovered", new { machineId, ip = remote }), Now, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(404, "this account has no machine with that id: see GET /v1/account/me for its machines");
        }

        AccountLog.Action(logger, account.Username, "recovered", "machine " + machineId);
        var session = await NewSessionAsync(account.Username, null, AccountScopes.Recovery, null, cancellationToken).ConfigureAwait(false);
        return new RecoverResponse(account.Username, machineId, key.ToString(), session.Token, session.Scope, session.ExpiresAt);
    }

    /// <summary>A machine checks a typed access key (throttled per account and address; first success marks the key used).</summary>
    public async Task<(VerifyKeyResponse Result, TimeSpan? RetryAfter)> VerifyKeyAsync(VerifyKeyRequest request, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var machine = await AuthenticateMachineAsync(request.Username, request.MachineId, request.MachineSecret, remote, cancellationToken).ConfigureAwait(false);
        if (!AccessKey.TryParse(request.AccessKey, out var key, out string error))
        {
            throw AccountException.BadInput(error);
        }

        using (key)
        {
            var locked = await throttle.LockedForAsync(AccountThrottle.AccessKey, machine.Username, remote, cancellationToken).ConfigureAwait(false);
            long now = Now;
            bool match = AccessKeyVerifier.Verify(key!, machine.KeyVerifier);
            bool fresh = machine.KeyUsedAt is not long used || now - used < TimeSpan.FromMinutes(_options.UsedKeyGraceMinutes).TotalMilliseconds;
            if (locked is { } wait)
            {
                AccountLog.Refused(logger, "access key", remote, "locked out");
                return (new VerifyKeyResponse(false, false), wait);
            }

            if (!match || !fresh)
            {
                AccountLog.Refused(logger, "access key", remote, match ? "used key past its grace time" : "wrong key");
                var started = await throttle.FailureAsync(AccountThrottle.AccessKey, machine.Username, remote, cancellationToken).ConfigureAwait(false);
                return (new VerifyKeyResponse(false, false), started);
            }

            await throttle.SuccessAsync(AccountThrottle.AccessKey, machine.Username, cancellationToken).ConfigureAwait(false);
            await store.MarkKeyUsedAsync(machine.Username, machine.MachineId, machine.KeyVerifier, Audit("access-key-used", new { machineId = machine.MachineId }), now, cancellationToken).ConfigureAwait(false);
            AccountLog.Action(logger, machine.Username, "access key used", "machine " + machine.MachineId);
            return (new VerifyKeyResponse(true, true), null);
        }
    }

    /// <summary>A new access key for a machine (machine secret, or a bearer of the machine's owner); the old one is cancelled.</summary>
    public async Task<AccessKeyResponse> RotateKeyAsync(RotateKeyRequest request, AccountPrincipal? principal, string? remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        MachineRecord machine;
        if (principal is not null)
        {
            machine = await store.GetMachineAsync(principal.Username, MachineId(request.MachineId), cancellationToken).ConfigureAwait(false)
                ?? throw new AccountException(404, "this account has no machine with that id");
        }
        else
        {
            machine = await AuthenticateMachineAsync(request.Username, request.MachineId, request.MachineSecret, remote, cancellationToken).ConfigureAwait(false);
        }

        using var key = NewAccessKey(out string verifier);
        await store.SetMachineKeyAsync(machine.Username, machine.MachineId, verifier,
            Audit("access-key-rotated", new { machineId = machine.MachineId, by = principal?.Scope ?? "machine" }), Now, cancellationToken).ConfigureAwait(false);
        AccountLog.Action(logger, machine.Username, "access key rotated", "machine " + machine.MachineId);
        return new AccessKeyResponse(machine.MachineId, key.ToString());
    }

    /// <summary>Adds a machine to the signed-in account (or re-keys one: new secret and access key).</summary>
    public async Task<AccessKeyResponse> AddMachineAsync(AddMachineRequest request, AccountPrincipal principal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(principal);
        string machineId = MachineId(request.MachineId);
        string serial = Text(request.MachineSerial, "machineSerial", 1, 128);
        byte[] secretHash = MachineSecretHash(request.MachineSecret);
        using var key = NewAccessKey(out string verifier);
        long now = Now;
        await store.UpsertMachineAsync(new MachineRecord(principal.Username, machineId, serial, secretHash, verifier, now, null, now),
            Audit("machine-added", new { machineId, machineSerial = serial }), now, cancellationToken).ConfigureAwait(false);
        return new AccessKeyResponse(machineId, key.ToString());
    }

    private async Task<MachineRecord> AuthenticateMachineAsync(string? username, string? machineId, byte[]? secret, string? remote, CancellationToken cancellationToken)
    {
        var machine = username is not null && Trk1Names.IsCanonicalUsername(username) && machineId is not null && MachineIdPattern().IsMatch(machineId)
            ? await store.GetMachineAsync(username, machineId, cancellationToken).ConfigureAwait(false)
            : null;
        var presented = AccountSecrets.Sha256(secret ?? []);
        if (machine is null || secret is not { Length: >= MinMachineSecretBytes } || !CryptographicOperations.FixedTimeEquals(presented, machine.SecretHash))
        {
            AccountLog.Refused(logger, "machine authentication", remote, machine is null ? "unknown machine" : "wrong machine secret");
            throw new AccountException(401, "machine authentication failed");
        }

        return machine;
    }

    // ---- replacement

    /// <summary>Replaces the signed-in user's card (or adds a temporary one) in one transaction.</summary>
    public async Task<ReplaceCardResponse> ReplaceCardAsync(ReplaceCardRequest request, AccountPrincipal principal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(principal);
        await RefuseTemporaryCardAsync(principal, cancellationToken).ConfigureAwait(false);
        string username = principal.Username;
        long now = Now;
        long? expires = null;
        if (request.Temporary)
        {
            int hours = request.Hours ?? _options.TemporaryCardMaxHours;
            if (hours < 1 || hours > _options.TemporaryCardMaxHours)
            {
                throw AccountException.BadInput($"hours must be 1 to {_options.TemporaryCardMaxHours} for a temporary card");
            }

            expires = now + (hours * 3_600_000L);
        }

        var (card, cardRequest) = NewCard(request.NewCard, username, request.Temporary ? AccountCardValues.Temporary : AccountCardValues.Primary, expires, now);
        string? machineId = request.MachineId is null ? null : MachineId(request.MachineId);
        if (machineId is not null && await store.GetMachineAsync(username, machineId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new AccountException(404, "this account has no machine with that id");
        }

        if (await store.GetCardAsync(card.Serial, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new AccountException(409, "this card is already registered to an account");
        }

        if (!await CheckProofAsync(CardProofPurpose.Replace, username, card.Serial, card.PublicKey, cardRequest.Nonce, cardRequest.Signature, cancellationToken).ConfigureAwait(false))
        {
            throw new AccountException(403, "the new card's proof is not valid: ask /v1/account/challenge (purpose replace) again and sign with the new card");
        }

        var previous = (await store.ListCardsAsync(username, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(c => c.Kind == AccountCardValues.Primary && c.Status == AccountCardValues.Active);
        string? verifier = null;
        using var key = machineId is null ? null : NewAccessKey(out verifier);
        var (tokenCode, tokenCodeRecord) = NewActivationCode(username);
        var audit = request.Temporary
            ? Audit("temporary-card", new { cardSerial = card.Serial, expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expires!.Value).ToString("O"), machineId, by = principal.Scope })
            : Audit("card-replaced", new { cardSerial = card.Serial, previousCardSerial = previous?.Serial, machineId, by = principal.Scope });
        var plan = new CardReplacementPlan(username, card, machineId, verifier, tokenCodeRecord, audit, now);
        var list = participants.ToList();
        var outcome = await store.ReplaceCardAsync(plan, list.Count == 0 ? null : async (transaction, result) =>
        {
            var context = new CardReplacementContext(username, result.RevokedCards, card, request.Temporary, now, transaction);
            foreach (var participant in list)
            {
                await participant.OnCardReplacedAsync(context, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
        AccountLog.Action(logger, username, request.Temporary ? "temporary card" : "card replaced", $"card {card.Serial}, {outcome.RevokedCards.Count} cards and {outcome.RevokedTokens} tokens revoked");
        return new ReplaceCardResponse(card.Serial, request.Temporary ? null : previous?.Serial, request.Temporary,
            expires is long e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null, machineId, key?.ToString(), tokenCode,
            DateTimeOffset.FromUnixTimeMilliseconds(tokenCodeRecord.ExpiresAt), outcome.RevokedTokens);
    }

    /// <summary>Revokes one of the signed-in user's cards (a lost card, before its replacement arrives).</summary>
    public async Task<CardView> RevokeCardAsync(string serial, AccountPrincipal principal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        await RefuseTemporaryCardAsync(principal, cancellationToken).ConfigureAwait(false);
        string cardSerial = CardSerial(serial);
        var outcome = await store.RevokeCardAsync(principal.Username, cardSerial, Audit("card-revoked", new { cardSerial, by = principal.Scope }), Now, cancellationToken).ConfigureAwait(false)
            ?? throw new AccountException(404, "this account has no active card with that serial");
        AccountLog.Action(logger, principal.Username, "card revoked", $"card {cardSerial}, {outcome.RevokedTokens} tokens revoked");
        return (await CardsAsync(principal.Username, cancellationToken).ConfigureAwait(false)).First(c => c.Serial == cardSerial);
    }

    /// <summary>A session of a temporary card may not change the account's cards (it stands in for a forgotten card, nothing more).</summary>
    private async Task RefuseTemporaryCardAsync(AccountPrincipal principal, CancellationToken cancellationToken)
    {
        if (principal.CardSerial is not null
            && (await store.GetCardAsync(principal.CardSerial, cancellationToken).ConfigureAwait(false))?.Kind == AccountCardValues.Temporary)
        {
            throw new AccountException(403, "a temporary card cannot replace or revoke cards: sign in with the recovery password or the primary card");
        }
    }

    // ---- views, escrow, audit

    /// <summary>The signed-in account.</summary>
    public async Task<AccountView> MeAsync(AccountPrincipal principal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var account = await store.GetAccountAsync(principal.Username, cancellationToken).ConfigureAwait(false) ?? throw AccountException.Failed();
        var machines = await store.ListMachinesAsync(principal.Username, cancellationToken).ConfigureAwait(false);
        return new AccountView(account.Username, account.FullName, account.Email, account.Question, principal.Scope, principal.CardSerial,
            machines.Select(m => new MachineView(m.MachineId, m.MachineSerial, Time(m.KeyIssuedAt), m.KeyUsedAt is long u ? Time(u) : null)).ToList());
    }

    /// <summary>The user's cards and their states.</summary>
    public async Task<IReadOnlyList<CardView>> CardsAsync(string username, CancellationToken cancellationToken)
    {
        long now = Now;
        return (await store.ListCardsAsync(username, cancellationToken).ConfigureAwait(false))
            .Select(c => new CardView(c.Serial, Convert.ToHexStringLower(SHA256.HashData(c.PublicKey)), c.Kind, c.StateAt(now), Time(c.RegisteredAt),
                c.ExpiresAt is long e ? Time(e) : null, c.RevokedAt is long r ? Time(r) : null, c.ReplacedBy))
            .ToList();
    }

    /// <summary>The user's audit log and whether its chain verifies.</summary>
    public async Task<AuditView> AuditAsync(string username, CancellationToken cancellationToken)
    {
        var account = await store.GetAccountAsync(username, cancellationToken).ConfigureAwait(false) ?? throw AccountException.Failed();
        var entries = await store.ListAuditAsync(username, cancellationToken).ConfigureAwait(false);
        return new AuditView(AuditChain.Verify(entries, account.AuditSeq, account.AuditHead),
            entries.Select(e => new AuditEntryView(e.Seq, Time(e.At), e.Kind, e.Details, Convert.ToHexStringLower(e.PrevHash), Convert.ToHexStringLower(e.Hash))).ToList());
    }

    /// <summary>Stores the user's escrow blob.</summary>
    public async Task<EscrowView> PutEscrowAsync(string username, byte[] blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (blob.Length == 0)
        {
            throw AccountException.BadInput("the escrow blob is empty");
        }

        var hash = SHA256.HashData(blob);
        long now = Now;
        await store.PutEscrowAsync(new EscrowRecord(username, blob, hash, now), Audit("escrow-uploaded", new { size = blob.Length, sha256 = Convert.ToHexStringLower(hash) }), cancellationToken).ConfigureAwait(false);
        return new EscrowView(blob.Length, Convert.ToHexStringLower(hash), Time(now));
    }

    /// <summary>The user's escrow blob, or null.</summary>
    public async Task<byte[]?> GetEscrowAsync(string username, CancellationToken cancellationToken) =>
        (await store.GetEscrowAsync(username, cancellationToken).ConfigureAwait(false))?.Blob;

    /// <summary>Escrow size limit.</summary>
    public int EscrowMaxBytes => _options.EscrowMaxBytes;

    // ---- helpers

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static AuditEvent Audit(string kind, object details) => new(kind, JsonSerializer.Serialize(details));

    private AccessKey NewAccessKey(out string verifier)
    {
        using var rng = RandomNumberGenerator.Create();
        var key = AccessKey.Generate(rng);
        verifier = AccessKeyVerifier.Create(key, rng, _options.AccessKeyIterations);
        return key;
    }

    private (string Code, ActivationCodeRecord Record) NewActivationCode(string username)
    {
        var now = clock.GetUtcNow();
        string code = ActivationCodes.Generate(random);
        var record = new ActivationCodeRecord(ActivationCodes.Hash(serverSecrets.ActivationKey, code), username, now.ToUnixTimeMilliseconds(),
            now.AddHours(serverOptions.Registration.ActivationCodeHours).ToUnixTimeMilliseconds(), null);
        return (code, record);
    }

    private static (AccountCardRecord Card, CardProofRequest Request) NewCard(CardProofRequest? request, string username, string kind, long? expires, long now)
    {
        if (request is null)
        {
            throw AccountException.BadInput("the card is required: {serial, publicKey, nonce, signature, tokenSerial?}");
        }

        string serial = CardSerial(request.Serial);
        if (request.PublicKey is null)
        {
            throw AccountException.BadInput("card.publicKey (base64 DER SubjectPublicKeyInfo of the 9A key) is required");
        }

        if (!CardProof.TryDescribeKey(request.PublicKey, out string keyError))
        {
            throw AccountException.BadInput(keyError);
        }

        byte[]? tokenSerial = null;
        if (!string.IsNullOrEmpty(request.TokenSerial))
        {
            if (request.TokenSerial.Length != Trk1Limits.TokenSerialLength * 2 || !request.TokenSerial.All(Uri.IsHexDigit))
            {
                throw AccountException.BadInput($"tokenSerial is the card's TRK1 token serial: {Trk1Limits.TokenSerialLength * 2} hex digits");
            }

            tokenSerial = Convert.FromHexString(request.TokenSerial);
        }

        return (new AccountCardRecord(serial, username, request.PublicKey, tokenSerial, kind, AccountCardValues.Active, now, expires, null, null), request);
    }

    private static string Username(string? username) => username is not null && Trk1Names.IsCanonicalUsername(username) ? username
        : throw AccountException.BadInput("username must be canonical: lower case NFC, letters, digits and . _ - @, at most 64 bytes");

    private static string CardSerial(string? serial) => serial is not null && SerialPattern().IsMatch(serial) ? serial
        : throw AccountException.BadInput("card serial: 1-64 of A-Z a-z 0-9 . _ : -");

    private static string MachineId(string? id) => id is not null && MachineIdPattern().IsMatch(id) ? id
        : throw AccountException.BadInput("machine id: 1-128 of A-Z a-z 0-9 . _ : -");

    private static byte[] MachineSecretHash(byte[]? secret) => secret is { Length: >= MinMachineSecretBytes and <= 256 } ? AccountSecrets.Sha256(secret)
        : throw AccountException.BadInput($"the machine secret is {MinMachineSecretBytes} to 256 random bytes (base64)");

    private string Password(string? password) => password is not null && password.Length >= _options.MinPasswordLength && password.Length <= 1024 ? password
        : throw AccountException.BadInput($"the recovery password needs at least {_options.MinPasswordLength} characters");

    private static string Text(string? value, string name, int min, int max)
    {
        string text = value?.Trim() ?? string.Empty;
        return text.Length >= min && text.Length <= max && !text.Any(char.IsControl) ? text
            : throw AccountException.BadInput($"{name}: {min} to {max} characters, no control characters");
    }
}
