using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CardKeep.Agent.Api;
using CardKeep.Cards.Piv;
using CardKeep.Cli.Trk1;
using CardKeep.Client;
using CardKeep.Client.Recovery;
using CardKeep.Client.Tokens;
using CardKeep.Manager;
using CardKeep.Protocol;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Cli.Commands;

/// <summary>
/// <c>cardkeep account register | recover | access-key rotate | cards | audit | backup-card | replace-card</c>: the
/// card holder's account on the recovery server (docs/recovery.md), this computer's binding in the machine store
/// (what <c>cardkeep gate</c> decides logins with), and the morph of a replacement card. Linux only (the agent's API).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class AccountCommands
{
    private static readonly Option<string?> MachineDirOption = new("--machine-dir")
    {
        Description = $"The machine store folder (default ${MachineStore.DirectoryVariable}, else {MachineStore.SystemDirectory}; root-only)",
        Recursive = true,
    };

    public static void Add(RootCommand root)
    {
        var account = new Command("account", "Your account on the recovery server: register a card and this computer, recover from a lost card, access keys, replacement and morph")
        {
            MachineDirOption, AgentApiOption,
        };
        account.Add(Register());
        account.Add(Recover());
        var accessKey = new Command("access-key", "This computer's access key (opens it without the card; single use in effect)");
        accessKey.Add(Rotate());
        account.Add(accessKey);
        account.Add(CardsCommand());
        account.Add(Audit());
        account.Add(BackupCard());
        account.Add(RevokeCard());
        account.Add(ReplaceCard());
        root.Add(account);
    }

    private static SecretOption Password() => new("--password", "CARDKEEP_RECOVERY_PASSWORD", "recovery password");

    private static SecretOption Answer(bool optional = true) =>
        new("--answer", "CARDKEEP_CHALLENGE_ANSWER", optional ? "answer to your challenge question (an extra signal; Enter skips it)" : "answer to your challenge question");

    private static SecretOption ActivationCode() => new("--activation-code", "CARDKEEP_ACTIVATION_CODE", "activation code from the administrator");

    private static SecretOption BackupPin() => new("--backup-pin", "CARDKEEP_BACKUP_PIN", "PIN of the escrowed backup (the old card's PIN when it was backed up)");

    private static Option<string?> UserOption(bool required) => new("--user")
    {
        Description = required ? "Your account name on the server (lower case)" : "Your account name on the server (default: the one this computer is bound to)",
        Required = required,
    };

    private static Option<string?> ServerOption() => new("--server")
    {
        Description = $"The recovery server's URL (default: the one this computer is bound to, else {Trk1Cli.DefaultServer})",
    };

    private static Command Register()
    {
        var server = ServerOption();
        var user = UserOption(required: true);
        var card = new Option<string>("--card") { Description = "The card: a reader (name, index or unique substring; 'reader:' prefix allowed)", Required = true };
        var question = new Option<string>("--question") { Description = "Your challenge question (an extra signal at recovery, never enough alone)", Required = true };
        var fullName = new Option<string>("--full-name") { Description = "Your full name", Required = true };
        var email = new Option<string>("--email") { Description = "Your e-mail address (lockout notices)", Required = true };
        var machineSerial = new Option<string?>("--machine-serial") { Description = "This computer's serial (default /sys/class/dmi/id/product_serial)" };
        var machineId = new Option<string?>("--machine-id") { Description = "This computer's id at the server (default /etc/machine-id); recover with it from another computer" };
        var localUser = new Option<string?>("--local-user") { Description = "The login (PAM_USER) the gate guards with this card (default: --user)" };
        var noToken = new Option<bool>("--no-token") { Description = "Do not register the card's TRK1 token with the one-time code the server returns" };
        var pin = Secrets.Pin();
        var password = Password();
        var answer = Answer(optional: false);
        var code = ActivationCode();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("register", "Register your account, your card and this computer: sets the recovery password and challenge question, binds the card in the machine store, and prints this computer's access key once")
        {
            server, user, card, question, fullName, email, machineSerial, machineId, localUser, noToken, pin.Option, password.Option, answer.Option, code.Option, mgmt.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            string username = Username(parse.GetValue(user));
            var uri = Trk1Cli.ParseServer(parse.GetValue(server) ?? Trk1Cli.DefaultServer);
            var store = Store(parse);
            string id = parse.GetValue(machineId) ?? DefaultMachineId();
            string serial = parse.GetValue(machineSerial) ?? DefaultMachineSerial();
            string local = parse.GetValue(localUser) ?? username;
            if (store.Exists)
            {
                throw new UsageException($"this computer is already bound ({store.Directory}); 'cardkeep gate status' shows to whom, 'cardkeep account replace-card' changes its card");
            }

            // The store must be writable (root) before the server creates anything: no account without its binding.
            using var held = store.Lock();
            using var secrets = new SecretBag();
            var activation = secrets.Add(code.Read(parse));
            var pinBytes = secrets.Add(ReadPin(parse, pin));
            var passwordBytes = secrets.Add(password.Read(parse, confirm: true));
            var answerBytes = secrets.Add(answer.Read(parse));
            var machineSecret = secrets.Add(RandomNumberGenerator.GetBytes(32));

            using var client = new AccountClient(uri);
            RegisterResponse registered;
            RegisteredCard boundCard;
            using (var opened = AccountCard.Open(Reader(parse.GetValue(card)!)))
            {
                opened.VerifyPin(pinBytes);
                var spki = opened.AuthenticationKey();
                var nonce = await client.ChallengeAsync(username, opened.Id, CardProofPurpose.Register, cancellationToken);
                var proof = opened.Prove(CardProofPurpose.Register, username, nonce, spki);
                registered = await client.RegisterAsync(new RegisterRequest(Text(activation), username, Text(passwordBytes), parse.GetValue(question)!, Text(answerBytes),
                    parse.GetValue(fullName), parse.GetValue(email), new MachineRegistration(id, serial, machineSecret),
                    new CardRegistration(opened.Id, spki, opened.TokenSerial(), nonce, proof)), cancellationToken);
                boundCard = CardCheck.Describe(opened.Session);
            }

            store.Save(WithAccessKey(new MachineBinding
            {
                ServerUrls = [uri.ToString()],
                MachineId = registered.MachineId,
                MachineSerial = serial,
                MachineSecret = Convert.ToBase64String(machineSecret),
                User = local,
                Account = local == username ? null : username,
                Card = boundCard,
            }, registered.AccessKey));
            Console.WriteLine($"registered {username} at {uri} with card {registered.CardSerial}; this computer is '{registered.MachineId}' (binding in {store.Directory})");
            await RegisterTokenAsync(parse, uri, username, registered.TokenActivationCode, parse.GetValue(noToken), Reader(parse.GetValue(card)!), pinBytes, mgmt, cancellationToken);
            PrintAccessKey(registered.AccessKey, registered.MachineId);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Recover()
    {
        var server = ServerOption();
        var user = UserOption(required: true);
        var machine = new Option<string>("--machine") { Description = "The id of the computer to open (as 'account register' named it)", Required = true };
        var password = Password();
        var answer = Answer();
        var command = new Command("recover", "Lost card: from another computer, with your recovery password (and challenge answer), get an access key for your computer")
        {
            server, user, machine, password.Option, answer.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            string username = Username(parse.GetValue(user));
            var uri = Trk1Cli.ParseServer(parse.GetValue(server) ?? Trk1Cli.DefaultServer);
            using var secrets = new SecretBag();
            var passwordBytes = secrets.Add(password.Read(parse));
            string? answerText = OptionalSecret(parse, answer) is { } a ? Text(secrets.Add(a)) : null;
            using var client = new AccountClient(uri);
            var recovered = await client.RecoverAsync(username, Text(passwordBytes), answerText, parse.GetValue(machine)!, cancellationToken);
            await client.LogoutAsync(recovered.Token, cancellationToken);
            PrintAccessKey(recovered.AccessKey, recovered.MachineId);
            Console.WriteLine("Type it at your computer's login instead of the card; it works once, then a new one is issued. Get a new card: 'cardkeep account replace-card'.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Rotate()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var machine = new Option<string?>("--machine") { Description = "Rotate another computer's key (with your recovery password) instead of this one's" };
        var password = Password();
        var answer = Answer();
        var command = new Command("rotate", "Issue a new access key for this computer (the old one stops working) and print it once")
        {
            server, user, machine, password.Option, answer.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            if (parse.GetValue(machine) is { } other)
            {
                string username = Username(parse.GetValue(user));
                var uri = Trk1Cli.ParseServer(parse.GetValue(server) ?? Trk1Cli.DefaultServer);
                using var client = new AccountClient(uri);
                var token = await PasswordSignInAsync(parse, client, username, password, answer, cancellationToken);
                var remote = await client.RotateAccessKeyAsync(token, other, cancellationToken);
                await client.LogoutAsync(token, cancellationToken);
                PrintAccessKey(remote.AccessKey, remote.MachineId);
                return ExitCodes.Ok;
            }

            var store = Store(parse);
            var binding = store.Load();
            var bound = BoundServer(parse, server, binding);
            using var local = new AccountClient(bound);
            var secret = Convert.FromBase64String(binding.MachineSecret);
            MachineKey rotated;
            try
            {
                rotated = await local.RotateAccessKeyAsync(binding.Account ?? binding.User, binding.MachineId, secret, cancellationToken);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }

            store.Update(b => WithAccessKey(b, rotated.AccessKey));
            PrintAccessKey(rotated.AccessKey, rotated.MachineId);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CardsCommand()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var signIn = new SignInOptions();
        var command = new Command("cards", "Your cards as the server knows them: active, revoked (replaced), temporary, expired") { server, user, CliSupport.JsonOption };
        signIn.AddTo(command);
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            var (uri, username) = Target(parse, server, user);
            using var client = new AccountClient(uri);
            string token = await signIn.SignInAsync(parse, client, username, cancellationToken);
            var cards = await client.CardsAsync(token, cancellationToken);
            await client.LogoutAsync(token, cancellationToken);
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(cards);
                return ExitCodes.Ok;
            }

            foreach (var c in cards)
            {
                string extra = c.State == "revoked" && c.ReplacedBy is not null ? $", replaced by {c.ReplacedBy}" : c.ExpiresAt is { } until ? $", until {until:u}" : string.Empty;
                Console.WriteLine($"card {c.Serial}: {c.State} ({c.Kind}{extra}), registered {c.RegisteredAt:u}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Audit()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var signIn = new SignInOptions();
        var command = new Command("audit", "Your audit log (registrations, recoveries, access keys, replacements, lockouts) and whether its hash chain verifies") { server, user, CliSupport.JsonOption };
        signIn.AddTo(command);
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            var (uri, username) = Target(parse, server, user);
            using var client = new AccountClient(uri);
            string token = await signIn.SignInAsync(parse, client, username, cancellationToken);
            var log = await client.AuditAsync(token, cancellationToken);
            await client.LogoutAsync(token, cancellationToken);
            int? broken = AuditVerifier.FirstBroken(username, log.Entries);
            bool linked = broken is null;
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new { chainValid = log.ChainValid, verifiedHere = linked, firstBroken = broken, entries = log.Entries });
                return log.ChainValid && linked ? ExitCodes.Ok : ExitCodes.Failed;
            }

            foreach (var e in log.Entries)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e.Seq,4} {e.Time:u} {e.Kind,-22} {e.Details}"));
            }

            Console.WriteLine(log.ChainValid && linked
                ? $"hash chain verifies (checked by the server and recomputed here): {log.Entries.Count} entries, head {Short(log.Entries.Count > 0 ? log.Entries[^1].Hash : null)}"
                : $"HASH CHAIN BROKEN{(broken is int at ? $" at entry {at}" : " (the server's head check failed)")}: the log was changed after it was written; tell your administrator");
            return log.ChainValid && linked ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }

    private static Command BackupCard()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var cardArgument = new Argument<string>("CARD") { Description = "The card to back up: a reader (name, index or unique substring)" };
        var pin = Secrets.Pin();
        var password = Password();
        var answer = Answer();
        var command = new Command("backup-card", "Escrow your card's data: back it up into a VSC (every object but private keys), encrypt that file under your recovery password, upload it")
        {
            server, user, cardArgument, pin.Option, password.Option, answer.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            var (uri, username) = Target(parse, server, user);
            using var secrets = new SecretBag();
            var pinBytes = secrets.Add(ReadPin(parse, pin));
            var passwordBytes = secrets.Add(password.Read(parse));
            byte[] blob;
            IReadOnlyList<TransferItem> items;
            string cardId;
            using (var opened = AccountCard.Open(Reader(parse.GetValue(cardArgument)!)))
            {
                cardId = opened.Id;
                using var objects = new PivCardObjects(opened.Session, opened.Reader);
                objects.Unlock(pinBytes);
                (blob, items) = CardEscrow.Backup(objects, opened.Id, pinBytes, passwordBytes, username, EscrowIterations());
            }

            using var client = new AccountClient(uri);
            string token = (await client.LoginPasswordAsync(username, Text(passwordBytes), OptionalSecret(parse, answer) is { } a ? Text(secrets.Add(a)) : null, cancellationToken)).Token;
            var stored = await client.PutEscrowAsync(token, blob, cancellationToken);
            await client.LogoutAsync(token, cancellationToken);
            int copied = items.Count(i => i.Done);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"escrowed card {cardId}: {copied} object(s) in an encrypted backup VSC, {stored.Size} bytes on the server (SHA-256 {stored.Sha256[..Math.Min(16, stored.Sha256.Length)]}…)"));
            foreach (var item in items.Where(i => !i.Done))
            {
                Console.WriteLine($"  not copied: {item.Name} ({item.Reason})");
            }

            Console.WriteLine("The backup opens with your recovery password and this card's PIN: a replacement card gets its data back ('account replace-card').");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command RevokeCard()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var serial = new Argument<string?>("SERIAL") { Description = "The lost card's serial (default: the card this computer is bound to)", Arity = ArgumentArity.ZeroOrOne };
        var password = Password();
        var answer = Answer();
        var command = new Command("revoke-card", "Report a card lost: the server revokes it at once (sign-in, TRK1 tokens), the gate and the agent stop accepting it; get a new one with 'replace-card'")
        {
            server, user, serial, password.Option, answer.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            var store = Store(parse);
            MachineBinding? binding = store.Exists ? store.Load() : null;
            var (uri, username) = Target(parse, server, user);
            string lost = parse.GetValue(serial) ?? binding?.Card?.Serial ?? throw new UsageException("give the card's SERIAL ('account cards' lists them)");
            using var client = new AccountClient(uri);
            string token = await PasswordSignInAsync(parse, client, username, password, answer, cancellationToken);
            var revoked = await client.RevokeCardAsync(token, lost, cancellationToken);
            await client.LogoutAsync(token, cancellationToken);
            Console.WriteLine($"card {revoked.Serial} is {revoked.State} at the server: it signs in nowhere and its TRK1 tokens are refused");
            if (binding?.Card?.Serial == lost)
            {
                store.Update(b => b with { Card = null, State = b.State with { CardLost = true, Changed = DateTimeOffset.UtcNow } });
                Console.WriteLine("machine binding: the gate refuses that card now; until a new card is registered this computer opens with its access key");
            }

            WithdrawFromAgent(parse, binding?.User ?? username, lost);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Tells the agent (when one runs) that a card is no longer the user's.</summary>
    private static bool WithdrawFromAgent(ParseResult parse, string localUser, string serial)
    {
        string socket = parse.GetValue(AgentApiOption) ?? ApiClient.DefaultSocket();
        try
        {
            using var removed = ApiClient.Call(socket, "unenroll-card", w =>
            {
                w.WriteString("serial", serial);
                w.WriteString("user", localUser);
            });
            bool ok = removed.RootElement.GetProperty("ok").GetBoolean();
            Console.WriteLine(ok
                ? removed.RootElement.GetProperty("removed").GetBoolean() ? $"agent: card {serial} withdrawn" : $"agent: card {serial} was not enrolled"
                : $"agent: {removed.RootElement.GetProperty("error").GetString()}");
            return ok;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Console.WriteLine($"agent: not running at {socket}");
            return false;
        }
    }

    private static Command ReplaceCard()
    {
        var server = ServerOption();
        var user = UserOption(required: false);
        var newCard = new Option<string>("--new-card") { Description = "The new card: a reader (name, index or unique substring)", Required = true };
        var temporary = new Option<bool>("--temporary") { Description = "A temporary card for a forgotten (not lost) one: the original stays valid; this one expires" };
        var hours = new Option<int?>("--hours") { Description = "How long a temporary card lasts (server maximum, default 24)" };
        var noMorph = new Option<bool>("--no-morph") { Description = "Do not restore the escrowed backup's data onto the new card" };
        var pin = new SecretOption("--pin", "CARDKEEP_PIN", "PIN of the new card");
        var backupPin = BackupPin();
        var password = Password();
        var answer = Answer();
        var mgmt = Secrets.ManagementKey();
        var command = new Command("replace-card", "Replace your card (lost or broken) in one server transaction, then morph: the new card gets the old one's data and rights, and the old card is refused everywhere")
        {
            server, user, newCard, temporary, hours, noMorph, pin.Option, backupPin.Option, password.Option, answer.Option, mgmt.Option,
        };
        command.SetAction((parse, cancellationToken) => GuardAsync(async () =>
        {
            if (parse.GetValue(hours) is not null && !parse.GetValue(temporary))
            {
                throw new UsageException("--hours is for a --temporary card");
            }

            var store = Store(parse);
            MachineBinding? binding = store.Exists ? store.Load() : null;
            var uri = parse.GetValue(server) is { } given ? Trk1Cli.ParseServer(given) : binding is not null ? BoundServer(parse, server, binding) : Trk1Cli.ParseServer(Trk1Cli.DefaultServer);
            string username = parse.GetValue(user) is { } u ? Username(u) : binding is not null ? binding.Account ?? binding.User : throw new UsageException("give --user (this computer is not bound to an account)");
            using var secrets = new SecretBag();
            var pinBytes = secrets.Add(ReadPin(parse, pin));
            var passwordBytes = secrets.Add(password.Read(parse));
            using var client = new AccountClient(uri);
            string token = (await client.LoginPasswordAsync(username, Text(passwordBytes), OptionalSecret(parse, answer) is { } a ? Text(secrets.Add(a)) : null, cancellationToken)).Token;
            var replacement = new Replacement(parse, client, token, username, binding, store, mgmt);

            // The escrowed data first: a backup that does not open stops here, before anything changed.
            IReadOnlyList<CardObject> backup = [];
            if (!parse.GetValue(noMorph) && await client.GetEscrowAsync(token, cancellationToken) is { } blob)
            {
                var backupPinBytes = secrets.Add(backupPin.Read(parse));
                backup = CardEscrow.OpenBackup(blob, passwordBytes, username, backupPinBytes);
            }

            int code = await replacement.RunAsync(Reader(parse.GetValue(newCard)!), pinBytes, parse.GetValue(temporary), parse.GetValue(hours), backup, cancellationToken);
            await client.LogoutAsync(token, cancellationToken);
            return code;
        }));
        return command;
    }

    /// <summary>The replacement after sign-in: server transaction, morph, token, machine binding, agent, hooks.</summary>
    private sealed class Replacement(ParseResult parse, AccountClient client, string token, string username, MachineBinding? binding, MachineStore store, SecretOption mgmt)
    {
        public async Task<int> RunAsync(string reader, byte[] pin, bool temporary, int? hours, IReadOnlyList<CardObject> backup, CancellationToken cancellationToken)
        {
            var problems = new List<string>();
            ReplaceResponse replaced;
            string newId;
            using (var card = AccountCard.Open(reader))
            {
                card.VerifyPin(pin);
                newId = card.Id;
                var spki = card.AuthenticationKey();
                string? tokenSerial = card.TokenSerial();
                if (tokenSerial is null && ProvisionFromBackup(card, backup) is { } provisioned)
                {
                    // Provisioning used a connection of its own, whose SELECT may have reset the PIN state on a real card.
                    tokenSerial = provisioned;
                    card.VerifyPin(pin);
                }
                var nonce = await client.ChallengeAsync(username, card.Id, CardProofPurpose.Replace, cancellationToken);
                var proof = card.Prove(CardProofPurpose.Replace, username, nonce, spki);
                replaced = await client.ReplaceCardAsync(token, new ReplaceRequest(new CardRegistration(card.Id, spki, tokenSerial, nonce, proof), binding?.MachineId, temporary, hours), cancellationToken);
                Console.WriteLine(temporary
                    ? $"temporary card {replaced.CardSerial} is active until {replaced.ExpiresAt:u}; card {binding?.Card?.Serial ?? "(the original)"} stays valid"
                    : $"card {replaced.CardSerial} replaces {replaced.PreviousCardSerial ?? "(no active card)"}: the old card is revoked ({replaced.RevokedTokens} TRK1 token(s) revoked)");

                if (backup.Count > 0)
                {
                    Morph(card, pin, backup, problems);
                }
                else
                {
                    Console.WriteLine("morph: no escrowed backup to restore ('account backup-card' makes one)");
                }

                foreach (var step in CardReplacementSteps.All)
                {
                    try
                    {
                        Console.WriteLine($"{step.Name}: {await step.RunAsync(new CardReplacedContext(client.Server, username, replaced.PreviousCardSerial, card, token, temporary), cancellationToken)}");
                    }
                    catch (Exception e) when (e is AccountException or IOException or HttpRequestException or CryptographicException or CardKeep.Cards.CardException)
                    {
                        problems.Add($"{step.Name}: {e.Message}");
                    }
                }

                var registeredKey = CardCheck.Describe(card.Session);
                if (binding is not null)
                {
                    UpdateBinding(registeredKey, replaced, temporary);
                }
            }

            try
            {
                await RegisterTokenAsync(parse, client.Server, username, replaced.TokenActivationCode, noToken: false, reader, pin, mgmt, cancellationToken);
            }
            catch (Exception e) when (e is Trk1Exception or TokenException or CardKeep.Cards.CardException or HttpRequestException or UsageException)
            {
                problems.Add($"TRK1 token: {e.Message}");
            }

            UpdateAgent(reader, pin, temporary ? null : replaced.PreviousCardSerial, newId, problems);
            if (replaced.AccessKey is { } key)
            {
                PrintAccessKey(key, replaced.MachineId ?? binding?.MachineId ?? "this computer");
            }

            foreach (var p in problems)
            {
                Console.Error.WriteLine($"warning: {p}");
            }

            return problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }

        /// <summary>A new card without a TRK1 trust anchor gets the one the old card had (same issuer, the new card's serial).</summary>
        private string? ProvisionFromBackup(AccountCard card, IReadOnlyList<CardObject> backup)
        {
            if (CardEscrow.IssuerCertificate(backup) is not { } issuer)
            {
                return null;
            }

            var key = VscCommands.ReadManagementKey(parse, mgmt, out _);
            try
            {
                using var context = CardKeep.Cards.PcSc.PcscContext.Establish();
                using var channel = context.Connect(card.Reader);
                using var piv = new PivToken(channel, key);
                var identity = piv.Provision(issuer);
                Console.WriteLine($"provisioned the new card's TRK1 trust anchor from the backup (token serial {Convert.ToHexStringLower(identity.Serial)})");
                return Convert.ToHexStringLower(identity.Serial);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }

        private void Morph(AccountCard card, byte[] pin, IReadOnlyList<CardObject> backup, List<string> problems)
        {
            var key = VscCommands.ReadManagementKey(parse, mgmt, out _);
            try
            {
                var target = new PivCardObjects(card.Session, card.Reader);
                target.Unlock(pin);
                target.AuthorizeWrites(key);
                var report = CardEscrow.WriteCarried(backup, target);
                if (report.Succeeded)
                {
                    Console.WriteLine($"morph: {report.Items.Count(i => i.Done)} data object(s) restored from the escrowed backup, each read back and verified: {string.Join(", ", report.Items.Where(i => i.Done).Select(i => i.Name))}");
                }
                else
                {
                    problems.Add($"morph failed{(report.RolledBack ? " and was rolled back" : string.Empty)}: {report.Failure}");
                }
            }
            catch (ManagerException e)
            {
                problems.Add($"morph: {e.Message}");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }

        private void UpdateBinding(RegisteredCard newCard, ReplaceResponse replaced, bool temporary)
        {
            store.Update(b =>
            {
                var next = temporary ? b : b with { Card = newCard, State = b.State with { CardLost = false, Changed = DateTimeOffset.UtcNow } };
                return replaced.AccessKey is { } key ? WithAccessKey(next, key) : next;
            });
            Console.WriteLine(temporary
                ? "machine binding: unchanged (the gate keeps the original card; a temporary card is for the server and the agent)"
                : $"machine binding: the gate now accepts card {newCard.Serial} and refuses card {replaced.PreviousCardSerial}");
        }

        private void UpdateAgent(string reader, byte[] pin, string? oldSerial, string newSerial, List<string> problems)
        {
            string socket = parse.GetValue(AgentApiOption) ?? ApiClient.DefaultSocket();
            string localUser = binding?.User ?? username;
            if (oldSerial is not null && !WithdrawFromAgent(parse, localUser, oldSerial))
            {
                Console.WriteLine("agent: enroll the new card later with 'cardkeep agent enroll-card'");
                return;
            }

            try
            {
                using var enrolled = ApiClient.Call(socket, "enroll-card", w =>
                {
                    w.WriteString("reader", reader);
                    w.WriteString("pin", pin);
                    w.WriteString("user", localUser);
                });
                if (!ReportAgent(enrolled, $"agent: card {newSerial} enrolled for {localUser}"))
                {
                    problems.Add($"agent: {enrolled.RootElement.GetProperty("error").GetString()}");
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                Console.WriteLine($"agent: not running at {socket}; enroll the new card later with 'cardkeep agent enroll-card'");
            }
        }

        private static bool ReportAgent(JsonDocument answer, string success)
        {
            bool ok = answer.RootElement.GetProperty("ok").GetBoolean();
            Console.WriteLine(ok ? success : $"agent: {answer.RootElement.GetProperty("error").GetString()}");
            return ok;
        }
    }

    private static readonly Option<string?> AgentApiOption = new("--api-socket")
    {
        Description = "The agent's local API socket (default $CARDKEEP_AGENT_API, else the user or system agent's)",
        Recursive = true,
    };

    /// <summary>Registers the card's TRK1 token with the server's one-time code (when the card has a trust anchor).</summary>
    private static async Task RegisterTokenAsync(ParseResult parse, Uri server, string username, string? activationCode, bool noToken, string reader, byte[] pin,
        SecretOption mgmt, CancellationToken cancellationToken)
    {
        if (activationCode is null)
        {
            return;
        }

        if (noToken)
        {
            Console.WriteLine($"TRK1: register the card's token yourself with 'cardkeep token register --reader … --user {username} --activation-code …' (code printed once): {activationCode}");
            return;
        }

        var key = VscCommands.ReadManagementKey(parse, mgmt, out _);
        try
        {
            using var context = CardKeep.Cards.PcSc.PcscContext.Establish();
            using var channel = context.Connect(context.ResolveReader(reader));
            using var piv = new PivToken(channel, key);
            try
            {
                piv.ReadIdentity();
            }
            catch (TokenException)
            {
                Console.WriteLine("TRK1: the card has no trust anchor ('cardkeep token provision'); its token was not registered");
                return;
            }

            using var trk1 = new Trk1Client(server);
            var registration = await trk1.RegisterAsync(piv, pin, Trk1Suite.E, username, activationCode, new Dictionary<string, string> { ["host"] = Environment.MachineName }, cancellationToken);
            Console.WriteLine($"TRK1: the card's token is registered as {username} (access path {registration.AccessPath}): your rights (entitlements) work with this card");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The binding with <paramref name="accessKey"/> as its access key; the keys it replaces are kept as used (refused here).</summary>
    private static MachineBinding WithAccessKey(MachineBinding binding, string accessKey)
    {
        if (!AccessKey.TryParse(accessKey, out var parsed, out string error))
        {
            throw new AccountException(AccountFailure.Server, $"the server issued an access key this client cannot read: {error}");
        }

        using var key = parsed!;
        return binding.WithAccessKey(key) with { UsedAccessKeys = [.. binding.UsedAccessKeys, .. binding.AccessKeys] };
    }

    private static void PrintAccessKey(string accessKey, string machineId)
    {
        Console.WriteLine();
        Console.WriteLine($"ACCESS KEY for '{machineId}' (shown once; write it down and keep it away from the computer):");
        Console.WriteLine();
        Console.WriteLine("    " + accessKey);
        Console.WriteLine();
        Console.WriteLine("It opens this computer without the card. The server keeps only a verifier; nobody can show it to you again.");
    }

    private static MachineStore Store(ParseResult parse) => new(MachineStore.DefaultDirectory(parse.GetValue(MachineDirOption)));

    private static Uri BoundServer(ParseResult parse, Option<string?> server, MachineBinding binding) =>
        Trk1Cli.ParseServer(parse.GetValue(server) ?? (binding.ServerUrls.Count > 0 ? binding.ServerUrls[0] : Trk1Cli.DefaultServer));

    /// <summary>The server and account: the flags, else this computer's binding.</summary>
    private static (Uri Server, string Username) Target(ParseResult parse, Option<string?> server, Option<string?> user)
    {
        if (parse.GetValue(user) is { } u)
        {
            return (Trk1Cli.ParseServer(parse.GetValue(server) ?? Trk1Cli.DefaultServer), Username(u));
        }

        var store = Store(parse);
        if (!store.Exists)
        {
            throw new UsageException("give --user (and --server): this computer is not bound to an account");
        }

        var binding = store.Load();
        return (BoundServer(parse, server, binding), binding.Account ?? binding.User);
    }

    private static string Username(string? text)
    {
        string name = Protocol.Registration.Trk1Names.Canonicalize(text ?? throw new UsageException("give --user"));
        return Protocol.Registration.Trk1Names.IsCanonicalUsername(name) ? name : throw new UsageException("--user: letters, digits and . _ - @ only, at most 64 bytes");
    }

    private static string Reader(string card) => card.StartsWith("reader:", StringComparison.Ordinal) ? card[7..] : card;

    private static byte[] ReadPin(ParseResult parse, SecretOption pin)
    {
        var secret = pin.Read(parse);
        if (secret.Length is 0 or > 8)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new UsageException("a card PIN has 1 to 8 characters");
        }

        return secret;
    }

    /// <summary>An optional secret: its flag or variable, else a prompt on a terminal (Enter skips it), else null.</summary>
    private static byte[]? OptionalSecret(ParseResult parse, SecretOption option)
    {
        bool given = !string.IsNullOrEmpty(parse.GetValue(option.Option)) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(option.EnvironmentVariable));
        if (!given && Console.IsInputRedirected)
        {
            return null;
        }

        var value = option.Read(parse);
        return value.Length == 0 ? null : value;
    }

    private static async Task<string> PasswordSignInAsync(ParseResult parse, AccountClient client, string username, SecretOption password, SecretOption answer, CancellationToken cancellationToken)
    {
        using var secrets = new SecretBag();
        var passwordBytes = secrets.Add(password.Read(parse));
        string? answerText = OptionalSecret(parse, answer) is { } a ? Text(secrets.Add(a)) : null;
        return (await client.LoginPasswordAsync(username, Text(passwordBytes), answerText, cancellationToken)).Token;
    }

    /// <summary>PBKDF2 iterations for a new escrow blob: CARDKEEP_ESCROW_ITERATIONS (tests lower it), else the default.</summary>
    private static int EscrowIterations() =>
        int.TryParse(Environment.GetEnvironmentVariable("CARDKEEP_ESCROW_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= EscrowEnvelope.MinimumIterations
            ? n
            : EscrowEnvelope.DefaultIterations;

    private static string DefaultMachineId()
    {
        try
        {
            return File.ReadAllText("/etc/machine-id").Trim() is { Length: > 0 } id ? id : Environment.MachineName;
        }
        catch (IOException)
        {
            return Environment.MachineName;
        }
    }

    private static string DefaultMachineSerial()
    {
        try
        {
            return File.ReadAllText("/sys/class/dmi/id/product_serial").Trim() is { Length: > 0 } serial
                ? serial
                : throw new UsageException("this computer reports no serial number: give --machine-serial");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the computer's serial (/sys/class/dmi/id/product_serial: {e.Message}): give --machine-serial");
        }
    }

    private static string Text(byte[] secret) => Encoding.UTF8.GetString(secret);

    private static string Short(string? hash) => hash is null ? "(empty)" : hash[..Math.Min(16, hash.Length)] + "…";

    /// <summary>Account errors: refused/locked → 1 with the message, machine store → 1 (damaged/unsafe) or 2 (missing), unreachable server → 3.</summary>
    private static Task<int> GuardAsync(Func<Task<int>> body) => Trk1Cli.GuardAsync(async () =>
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (AccountException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.Failure == AccountFailure.BadRequest ? ExitCodes.BadInput : ExitCodes.Failed;
        }
        catch (MachineStoreException e)
        {
            Console.Error.WriteLine($"error: machine store: {e.Message}");
            return e.Problem == MachineStoreProblem.Missing ? ExitCodes.BadInput : ExitCodes.Failed;
        }
    });

    /// <summary>How a command signs in to read the account: the card (proof after PIN) or the recovery password.</summary>
    private sealed class SignInOptions
    {
        private readonly Option<string?> _card = new("--card") { Description = "Sign in with this card (a reader) instead of the recovery password" };
        private readonly SecretOption _pin = Secrets.Pin();
        private readonly SecretOption _password = Password();
        private readonly SecretOption _answer = Answer();

        public void AddTo(Command command)
        {
            command.Add(_card);
            command.Add(_pin.Option);
            command.Add(_password.Option);
            command.Add(_answer.Option);
        }

        public async Task<string> SignInAsync(ParseResult parse, AccountClient client, string username, CancellationToken cancellationToken)
        {
            if (parse.GetValue(_card) is not { } selector)
            {
                return await PasswordSignInAsync(parse, client, username, _password, _answer, cancellationToken);
            }

            var pin = ReadPin(parse, _pin);
            try
            {
                using var card = AccountCard.Open(Reader(selector));
                card.VerifyPin(pin);
                var spki = card.AuthenticationKey();
                var nonce = await client.ChallengeAsync(username, card.Id, CardProofPurpose.Login, cancellationToken);
                return (await client.LoginCardAsync(username, card.Id, nonce, card.Prove(CardProofPurpose.Login, username, nonce, spki), cancellationToken)).Token;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pin);
            }
        }
    }
}

/// <summary>Secrets a command holds, zeroed together when it ends.</summary>
internal sealed class SecretBag : IDisposable
{
    private readonly List<byte[]> _held = [];

    public byte[] Add(byte[] secret)
    {
        _held.Add(secret);
        return secret;
    }

    public void Dispose()
    {
        foreach (var s in _held)
        {
            CryptographicOperations.ZeroMemory(s);
        }
    }
}
