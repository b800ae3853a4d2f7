using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CardKeep.Cards.Piv;
using CardKeep.Cli.Trk1;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Client.Recovery;
using CardKeep.Protocol.Records;
using CardKeep.Protocol.Recovery;
using Spectre.Console;

namespace CardKeep.Cli.Commands;

/// <summary>
/// <c>cardkeep env …</c>: the personal environment (docs/environment.md). Entries are encrypted on this computer with a
/// key only the card unwraps; the server keeps ciphertext, the card the most recently used entries, the local folder
/// an offline copy.
/// </summary>
internal static class EnvCommands
{
    private static readonly Option<string> CardOption = new("--card")
    {
        Description = "The card: a reader (name, index or unique substring; a live VSC is a reader too). Or set CARDKEEP_CARD",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CARDKEEP_CARD") ?? string.Empty,
        Recursive = true,
    };

    private static readonly Option<string?> ServerOption = new("--server") { Description = $"The CardKeep server's URL (default: this computer's account binding, else {Trk1Cli.DefaultServer})", Recursive = true };

    private static readonly Option<string?> UserOption = new("--user") { Description = "Account user name (default: this computer's account binding, or CARDKEEP_USER)", Recursive = true };

    private static readonly Option<bool> OfflineOption = new("--offline") { Description = "Work on the card and the local copy only (sync later with 'env sync')", Recursive = true };

    private static readonly Option<string?> FolderOption = new("--env-dir")
    {
        Description = "The local offline copy (default $CARDKEEP_ENV_DIR, else ~/.local/share/cardkeep/env)",
        Recursive = true,
    };

    private static readonly Option<int?> BudgetOption = new("--card-budget")
    {
        Description = $"Bytes of the card the environment may use (default and maximum {EnvCard.Capacity}: objects 5FFF15-5FFF1C)",
        Recursive = true,
    };

    private static readonly SecretOption Pin = Recursive(Secrets.Pin());

    private static readonly SecretOption Mgmt = Recursive(Secrets.ManagementKey());

    private static SecretOption Recursive(SecretOption option)
    {
        option.Option.Recursive = true;
        return option;
    }

    private static int _stepRegistered;

    public static void Add(RootCommand root)
    {
        if (Interlocked.Exchange(ref _stepRegistered, 1) == 0)
        {
            CardReplacementSteps.Register(new ReplacementStep());
        }

        var env = new Command("env", "Personal environment: sites, bookmarks, preferences and notes, encrypted for your card; the card carries the most used, the server everything")
        {
            CardOption, ServerOption, UserOption, OfflineOption, FolderOption, BudgetOption, Pin.Option, Mgmt.Option,
        };
        env.Add(Setup());
        env.Add(Rekey());
        env.Add(List());
        env.Add(Get());
        env.Add(AddCommand());
        env.Add(Edit());
        env.Add(Remove());
        env.Add(Open());
        env.Add(Diff());
        env.Add(Sync());
        env.Add(Set());
        env.Add(Apply());
        env.Add(Quota());
        root.Add(env);
    }

    /// <summary>Everything an env command holds while it runs.</summary>
    private sealed class Session : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public required EnvironmentService Service { get; init; }

        public RecordsClient? Records { get; init; }

        public required string User { get; init; }

        public void Own(IDisposable d) => _owned.Add(d);

        public void Dispose()
        {
            Service.Dispose();
            Records?.Dispose();
            foreach (var d in Enumerable.Reverse(_owned))
            {
                d.Dispose();
            }
        }
    }

    private static async Task<Session> OpenAsync(ParseResult parse, bool open = true, bool requireOnline = false, CancellationToken cancellationToken = default)
    {
        string selector = parse.GetValue(CardOption) is { Length: > 0 } c ? c : throw new UsageException("give --card READER (or set CARDKEEP_CARD)");
        var (server, user) = Target(parse);
        bool offline = parse.GetValue(OfflineOption);
        if (offline && requireOnline)
        {
            throw new UsageException("this command needs the server; leave out --offline");
        }

        byte[] pin = Pin.Read(parse);
        byte[] mgmt = parse.GetValue(Mgmt.Option) is { Length: > 0 } || Environment.GetEnvironmentVariable(Mgmt.EnvironmentVariable) is { Length: > 0 }
            ? VscCommands.ReadManagementKey(parse, Mgmt, out _) : [];
        var card = AccountCard.Open(selector.StartsWith("reader:", StringComparison.Ordinal) ? selector[7..] : selector);
        RecordsClient? records = null;
        try
        {
            if (pin.Length is 0 or > 8)
            {
                throw new UsageException("a card PIN has 1 to 8 characters");
            }

            card.VerifyPin(pin);
            if (!offline)
            {
                using var accounts = new AccountClient(server);
                byte[] nonce = await accounts.ChallengeAsync(user, card.Id, CardProofPurpose.Login, cancellationToken).ConfigureAwait(false);
                var signIn = await accounts.LoginCardAsync(user, card.Id, nonce, card.Prove(CardProofPurpose.Login, user, nonce, card.AuthenticationKey()), cancellationToken).ConfigureAwait(false);
                records = new RecordsClient(server, signIn.Token);
            }

            var environmentCard = new PivEnvironmentCard(card.Session, card.Id, [], mgmt);
            string folder = parse.GetValue(FolderOption) ?? Environment.GetEnvironmentVariable("CARDKEEP_ENV_DIR") ?? LocalFolder.DefaultPath();
            var service = new EnvironmentService(user, environmentCard, environmentCard, parse.GetValue(BudgetOption) ?? EnvCard.Capacity, new LocalFolder(folder), records);
            var session = new Session { Service = service, Records = records, User = user };
            session.Own(card);
            session.Own(environmentCard);
            if (open && !await service.OpenAsync(cancellationToken).ConfigureAwait(false))
            {
                session.Dispose();
                throw new UsageException(offline
                    ? "this folder has no record key for this card yet: run 'cardkeep env sync' online first"
                    : "no record keys for this card: run 'cardkeep env setup' (first card) or 'cardkeep env rekey' (replacement card)");
            }

            foreach (string w in service.Warnings)
            {
                Console.Error.WriteLine($"warning: {w}");
            }

            return session;
        }
        catch
        {
            records?.Dispose();
            card.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pin);
            CryptographicOperations.ZeroMemory(mgmt);
        }
    }

    private static (Uri Server, string User) Target(ParseResult parse)
    {
        MachineBinding? binding = null;
        var store = new MachineStore(MachineStore.DefaultDirectory());
        try
        {
            binding = store.Exists ? store.Load() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MachineStoreException)
        {
            binding = null;
        }

        string? user = parse.GetValue(UserOption) ?? Environment.GetEnvironmentVariable("CARDKEEP_USER") ?? binding?.Account ?? binding?.User;
        if (user is null)
        {
            throw new UsageException("give --user (or set CARDKEEP_USER): this computer is not bound to an account");
        }

        string canonical = Protocol.Registration.Trk1Names.Canonicalize(user);
        if (!Protocol.Registration.Trk1Names.IsCanonicalUsername(canonical))
        {
            throw new UsageException("--user: letters, digits and . _ - @ only, at most 64 bytes");
        }

        string url = parse.GetValue(ServerOption) ?? (binding?.ServerUrls.Count > 0 ? binding.ServerUrls[0] : Trk1Cli.DefaultServer);
        return (Trk1Cli.ParseServer(url), canonical);
    }

    private static Task<int> Run(ParseResult parse, Func<Task<int>> body) => Trk1Cli.GuardAsync(async () =>
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RecordsServerException or DamagedRecordException or AccountException or KeyNotFoundException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e is KeyNotFoundException ? ExitCodes.BadInput : ExitCodes.Failed;
        }
    });

    private static Command Setup()
    {
        var command = new Command("setup", "First use: a record key for your environment, wrapped to this card's key-management (9D) key, and a record recovery code printed once");
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, open: false, requireOnline: true, cancellationToken: ct).ConfigureAwait(false);
            byte[] code = await session.Service.SetupAsync(ct).ConfigureAwait(false);
            try
            {
                Console.WriteLine("Record keys created for this card.");
                Console.WriteLine($"Record recovery code (shown once; print it and keep it away from the card): {RecoveryCodeText.Format(code)}");
                Console.WriteLine("With it, a replacement card gets your entries back ('cardkeep env rekey'); without it and the card, nobody can read them, not even the server.");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(code);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static SecretOption RecoveryCode() => new("--recovery-code", "CARDKEEP_RECORD_RECOVERY_CODE", "record recovery code");

    private static Command Rekey()
    {
        var code = RecoveryCode();
        var command = new Command("rekey", "After a card replacement, with the NEW card: re-wrap every record for it with the record recovery code (the old card then reads none); prints a new recovery code")
        {
            code.Option,
        };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            byte[] text = code.Read(parse);
            byte[] oldCode;
            try
            {
                oldCode = RecoveryCodeText.Parse(Encoding.UTF8.GetString(text));
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(text);
            }

            using var session = await OpenAsync(parse, open: false, requireOnline: true, cancellationToken: ct).ConfigureAwait(false);
            byte[] newCode;
            try
            {
                newCode = await session.Service.RekeyAsync(oldCode, ct).ConfigureAwait(false);
            }
            catch (DamagedRecordException)
            {
                throw new UsageException("the record recovery code is not right for this account");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(oldCode);
            }

            var report = await session.Service.SyncAsync(ct).ConfigureAwait(false);
            Console.WriteLine($"Every record re-wrapped for this card ({report.Pulled.Count + report.Pushed.Count} synced); the old card can no longer read them.");
            Console.WriteLine($"New record recovery code (shown once; the old one no longer works): {RecoveryCodeText.Format(newCode)}");
            CryptographicOperations.ZeroMemory(newCode);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var set = new Option<string?>("--set") { Description = "Only entries of this set" };
        var command = new Command("list", "Entries (names, kinds, sets, last use, whether on the card); no secrets") { set, CliSupport.JsonOption };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            if (session.Service.Online)
            {
                await session.Service.SyncAsync(ct).ConfigureAwait(false);
            }

            string? only = parse.GetValue(set);
            var rows = session.Service.List().Where(r => only is null || r.Entry.Entry!.Sets.Contains(only, StringComparer.Ordinal)).ToList();
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(rows.Select(r => new
                {
                    id = r.Entry.Id, name = r.Entry.Entry!.Name, kind = r.Entry.Entry.Kind.ToString().ToLowerInvariant(), url = r.Entry.Entry.Url, sets = r.Entry.Entry.Sets,
                    usedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.Entry.UsedAt), revision = r.Entry.BaseRevision, edited = r.Entry.Dirty, onCard = r.OnCard,
                }));
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Name", "Kind", "Sets", "Last used", "Card", "Sync");
            foreach (var (e, onCard) in rows)
            {
                table.AddRow(Markup.Escape(e.Entry!.Name), e.Entry.Kind.ToString().ToLowerInvariant(), Markup.Escape(string.Join(',', e.Entry.Sets)),
                    DateTimeOffset.FromUnixTimeMilliseconds(e.UsedAt).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), onCard ? "yes" : "-", e.Dirty ? "edited" : "rev " + e.BaseRevision);
            }

            AnsiConsole.Write(table);
            Console.WriteLine($"{rows.Count} entries; the card carries set '{session.Service.CardSet ?? "(all)"}'.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Get()
    {
        var name = new Argument<string>("ENTRY") { Description = "Entry name (or id)" };
        var show = new Option<bool>("--show") { Description = "Print the password (and other secrets) instead of copying it to the clipboard" };
        var clear = new Option<int>("--clear-after") { Description = "Seconds until the clipboard is cleared", DefaultValueFactory = _ => 30 };
        var command = new Command("get", "Show an entry; its password goes to the clipboard (cleared after a timeout) unless --show. Read from the card when it carries it, else from the server (and then written to the card)")
        {
            name, show, clear, CliSupport.JsonOption,
        };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            var (entry, source, _) = await session.Service.GetAsync(parse.GetValue(name)!, ct).ConfigureAwait(false);
            bool reveal = parse.GetValue(show);
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new
                {
                    id = entry.Id, name = entry.Name, kind = entry.Kind.ToString().ToLowerInvariant(), url = entry.Url, userName = entry.UserName,
                    password = reveal ? entry.Password : null, startPage = entry.StartPage, openUrl = entry.OpenUrl(), value = entry.Value, sets = entry.Sets,
                    source = source.ToString().ToLowerInvariant(),
                });
            }
            else
            {
                Console.WriteLine($"{entry.Name} ({entry.Kind.ToString().ToLowerInvariant()}, from the {source.ToString().ToLowerInvariant()})");
                Write("url", entry.Url);
                Write("user name", entry.UserName);
                Write("start page", entry.StartPage);
                Write("value", entry.Value);
                Write("sets", entry.Sets.Count > 0 ? string.Join(',', entry.Sets) : null);
                if (entry.Password is not null && reveal)
                {
                    Write("password", entry.Password);
                }
            }

            if (entry.Password is not null && !reveal)
            {
                int seconds = parse.GetValue(clear);
                SystemClipboard.Copy(entry.Password, TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 3600)));
                Console.Error.WriteLine($"password copied to the clipboard; cleared in {seconds} s");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Write(string label, string? value)
    {
        if (value is not null)
        {
            Console.WriteLine($"  {label,-11} {value}");
        }
    }

    /// <summary>The content options of add and edit.</summary>
    private sealed class EntryOptions
    {
        public Option<string?> Kind { get; } = new("--kind") { Description = "site, bookmark, preference or note (add: default site)" };

        public Option<string?> Url { get; } = new("--url") { Description = "Site or bookmark URL" };

        public Option<string?> UserName { get; } = new("--user-name") { Description = "Site user name" };

        public Option<string?> StartPage { get; } = new("--start-page") { Description = "Site start page: an absolute URL or a path relative to --url" };

        public Option<string?> Value { get; } = new("--value") { Description = "Preference value, or note text" };

        public Option<string[]> Sets { get; } = new("--set") { Description = "Set the entry belongs to (repeat for several; edit: replaces the sets)", AllowMultipleArgumentsPerToken = false };

        public SecretOption Password { get; } = new("--password", "CARDKEEP_ENTRY_PASSWORD", "site password");

        public Option<bool> AskPassword { get; } = new("--ask-password") { Description = "Prompt for the site password (without echo)" };

        public void AddTo(Command command)
        {
            command.Add(Kind);
            command.Add(Url);
            command.Add(UserName);
            command.Add(StartPage);
            command.Add(Value);
            command.Add(Sets);
            command.Add(Password.Option);
            command.Add(AskPassword);
        }

        public EnvEntry Apply(ParseResult parse, EnvEntry entry)
        {
            string? password = entry.Password;
            if (parse.GetValue(AskPassword) || parse.GetValue(Password.Option) is { Length: > 0 } || Environment.GetEnvironmentVariable(Password.EnvironmentVariable) is { Length: > 0 })
            {
                byte[] bytes = Password.Read(parse, confirm: parse.GetValue(AskPassword));
                password = Encoding.UTF8.GetString(bytes);
                CryptographicOperations.ZeroMemory(bytes);
            }

            var kind = parse.GetValue(Kind) is { } k
                ? Enum.TryParse<EntryKind>(k, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed : throw new UsageException($"--kind must be site, bookmark, preference or note, not '{k}'")
                : entry.Kind;
            string[] sets = parse.GetValue(Sets) ?? [];
            return entry with
            {
                Kind = kind,
                Url = parse.GetValue(Url) ?? entry.Url,
                UserName = parse.GetValue(UserName) ?? entry.UserName,
                StartPage = parse.GetValue(StartPage) ?? entry.StartPage,
                Value = parse.GetValue(Value) ?? entry.Value,
                Password = password,
                Sets = sets.Length > 0 ? [.. sets.Distinct(StringComparer.Ordinal)] : entry.Sets,
            };
        }
    }

    private static Command AddCommand()
    {
        var name = new Argument<string>("NAME") { Description = "Entry name (for a preference: the environment variable's name)" };
        var options = new EntryOptions();
        var command = new Command("add", "Add an entry (encrypted here; uploaded at once unless --offline)") { name };
        options.AddTo(command);
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            var entry = options.Apply(parse, new EnvEntry { Id = EnvEntry.NewId(), Kind = EntryKind.Site, Name = parse.GetValue(name)! });
            if (entry.Validate() is { } bad)
            {
                throw new UsageException(bad);
            }

            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            Report(await session.Service.AddAsync(entry, ct).ConfigureAwait(false), $"added '{entry.Name}'");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Edit()
    {
        var name = new Argument<string>("ENTRY") { Description = "Entry name (or id)" };
        var rename = new Option<string?>("--rename") { Description = "New name" };
        var take = new Option<string?>("--take-conflict") { Description = "Settle a conflict by taking the kept version (its id from 'env diff' or 'env sync')" };
        var drop = new Option<string?>("--drop-conflict") { Description = "Settle a conflict by keeping the current version and dropping the kept one" };
        var options = new EntryOptions();
        var command = new Command("edit", "Change an entry (only the options given), or settle a conflict") { name, rename, take, drop };
        options.AddTo(command);
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            if (parse.GetValue(take) is { } takeId || parse.GetValue(drop) is { } _)
            {
                string id = parse.GetValue(take) ?? parse.GetValue(drop)!;
                var result = await session.Service.ResolveConflictAsync(id, take: parse.GetValue(take) is not null, ct).ConfigureAwait(false);
                Console.WriteLine($"conflict settled: '{result.Name}' keeps the {(parse.GetValue(take) is not null ? "kept (conflicting)" : "current")} version");
                return ExitCodes.Ok;
            }

            var found = session.Service.Find(parse.GetValue(name)!)?.Entry ?? throw new KeyNotFoundException($"no entry named '{parse.GetValue(name)}'");
            var entry = options.Apply(parse, found) with { Name = parse.GetValue(rename) ?? found.Name };
            if (entry.Validate() is { } bad)
            {
                throw new UsageException(bad);
            }

            Report(await session.Service.EditAsync(entry, ct).ConfigureAwait(false), $"changed '{entry.Name}'");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("ENTRY") { Description = "Entry name (or id)" };
        var command = new Command("remove", "Remove an entry (from the card and the local copy now, from the server at once unless --offline)") { name };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            Report(await session.Service.RemoveAsync(parse.GetValue(name)!, ct).ConfigureAwait(false), $"removed '{parse.GetValue(name)}'");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Open()
    {
        var name = new Argument<string>("ENTRY") { Description = "Site or bookmark" };
        var print = new Option<bool>("--print") { Description = "Print the URL instead of launching the browser" };
        var command = new Command("open", "Open a site's start page (or a bookmark) in $BROWSER, else xdg-open; the password goes to the clipboard") { name, print };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            var (entry, _, _) = await session.Service.GetAsync(parse.GetValue(name)!, ct).ConfigureAwait(false);
            string url = entry.OpenUrl() ?? throw new UsageException($"'{entry.Name}' has no URL");
            if (parse.GetValue(print))
            {
                Console.WriteLine(url);
                return ExitCodes.Ok;
            }

            string browser = Environment.GetEnvironmentVariable("BROWSER") is { Length: > 0 } b ? b.Split(':')[0] : "xdg-open";
            var info = new ProcessStartInfo(browser) { UseShellExecute = false };
            info.ArgumentList.Add(url);
            try
            {
                using var process = Process.Start(info);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"cannot start '{browser}' ({e.Message}); set $BROWSER or use --print");
            }

            if (entry.Password is not null)
            {
                SystemClipboard.Copy(entry.Password, TimeSpan.FromSeconds(30));
                Console.Error.WriteLine("password copied to the clipboard; cleared in 30 s");
            }

            Console.WriteLine($"opened {url}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Diff()
    {
        var command = new Command("diff", "Entry by entry: what the card, the server and the local copy hold (revisions, edits, damage); changes nothing") { CliSupport.JsonOption };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            var diffs = await session.Service.DiffAsync(ct).ConfigureAwait(false);
            var conflicts = session.Records is null ? [] : (await session.Records.ListAsync(ct).ConfigureAwait(false)).Conflicts;
            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new { entries = diffs, conflicts = conflicts.Select(c => new { conflictId = c.ConflictId, recordId = c.RecordId, baseRevision = c.BaseRevision }) });
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Entry", "Card", "Server", "Local", "Status");
            foreach (var d in diffs)
            {
                table.AddRow(Markup.Escape(d.Name), Markup.Escape(d.Card), Markup.Escape(d.Server), Markup.Escape(d.Local), Markup.Escape(d.Status));
            }

            AnsiConsole.Write(table);
            foreach (var c in conflicts)
            {
                string entryName = session.Service.Find(c.RecordId)?.Entry?.Name ?? c.RecordId;
                Console.WriteLine($"conflict {c.ConflictId}: '{entryName}' edited from rev {c.BaseRevision} elsewhere; settle with 'env edit {entryName} --take-conflict {c.ConflictId}' or '--drop-conflict {c.ConflictId}'");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Sync()
    {
        var command = new Command("sync", "Reconcile the card, the local copy and the server: upload edits, download newer revisions, keep both versions on conflict, rewrite the card");
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, requireOnline: true, cancellationToken: ct).ConfigureAwait(false);
            var report = await session.Service.SyncAsync(ct).ConfigureAwait(false);
            Report(report, "synced");
            return report.Conflicts.Count > 0 || report.Damaged.Count > 0 || report.QuotaFull is not null ? ExitCodes.Failed : ExitCodes.Ok;
        }));
        return command;
    }

    private static void Report(SyncReport? report, string done)
    {
        Console.WriteLine(done);
        if (report is null)
        {
            Console.WriteLine("offline: saved in the local copy and on the card; 'cardkeep env sync' uploads it");
            return;
        }

        Console.WriteLine($"uploaded {report.Pushed.Count}, downloaded {report.Pulled.Count}, removed {report.Removed.Count}; the card carries {report.Card?.Kept.Count ?? 0} entries ({report.Card?.Bytes ?? 0} of {report.Card?.Budget ?? 0} bytes){(report.Card?.Evicted.Count > 0 ? $", {report.Card.Evicted.Count} least recently used only on the server" : string.Empty)}");
        foreach (var (name, id) in report.Conflicts)
        {
            Console.WriteLine($"CONFLICT '{name}': edited elsewhere meanwhile; both versions are kept{(id.Length > 0 ? $" (conflict {id}; see 'cardkeep env diff')" : string.Empty)}");
        }

        foreach (string name in report.Damaged)
        {
            Console.WriteLine($"DAMAGED '{name}': the server's copy fails authentication; the local copy was kept");
        }

        if (report.QuotaFull is { } full)
        {
            Console.WriteLine($"QUOTA FULL: {string.Join(", ", report.NotUploaded)} not uploaded (kept locally). {(full.Offer is { } o ? $"Offer: {o.MaxEntries} entries, {o.MaxBytes} bytes — 'cardkeep env quota --accept', or '--decline' to remove the least recently used" : "The server maximum is reached: 'cardkeep env quota --decline' removes the least recently used")}");
        }
    }

    private static Command Set()
    {
        var name = new Argument<string?>("SET") { Description = "The set the card carries (office, home, abroad, …); omit to show the current one", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Carry the most recently used entries of every set" };
        var command = new Command("set", "Choose which set of entries the card carries; switching rewrites the card") { name, all };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            if (session.Service.Online)
            {
                await session.Service.SyncAsync(ct).ConfigureAwait(false);
            }

            string? set = parse.GetValue(name);
            if (set is null && !parse.GetValue(all))
            {
                var sets = session.Service.List().SelectMany(e => e.Entry.Entry!.Sets).GroupBy(s => s, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Count()})");
                Console.WriteLine($"the card carries: {session.Service.CardSet ?? "(all)"}; sets: {string.Join(", ", sets)}");
                return ExitCodes.Ok;
            }

            if (set is not null && !RecordLimits.IsSetName(set))
            {
                throw new UsageException("a set name has 1-32 of a-z 0-9 . _ -");
            }

            var plan = session.Service.ChooseSet(parse.GetValue(all) ? null : set);
            Console.WriteLine($"the card now carries {(set ?? "all sets")}: {plan.Kept.Count} entries ({plan.Bytes} of {plan.Budget} bytes){(plan.Evicted.Count > 0 ? $", {plan.Evicted.Count} only on the server" : string.Empty)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Apply()
    {
        var name = new Argument<string>("SET") { Description = "The set to apply" };
        var envFile = new Option<string?>("--env-file") { Description = "Environment file to write (default ~/.config/cardkeep/env/SET.env)" };
        var bookmarks = new Option<string?>("--bookmarks") { Description = "Netscape bookmark file to write (default ~/.config/cardkeep/env/SET-bookmarks.html)" };
        var command = new Command("apply", "Write a set's preferences to an environment file (source it from your shell profile) and its sites and bookmarks to a bookmark file browsers import")
        {
            name, envFile, bookmarks,
        };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            string set = parse.GetValue(name)!;
            if (!RecordLimits.IsSetName(set))
            {
                throw new UsageException("a set name has 1-32 of a-z 0-9 . _ -");
            }

            using var session = await OpenAsync(parse, cancellationToken: ct).ConfigureAwait(false);
            if (session.Service.Online)
            {
                await session.Service.SyncAsync(ct).ConfigureAwait(false);
            }

            var entries = session.Service.List().Select(e => e.Entry.Entry!).Where(e => e.Sets.Contains(set, StringComparer.Ordinal)).ToList();
            string envPath = parse.GetValue(envFile) ?? EnvApply.DefaultEnvironmentFile(set);
            string bookmarkPath = parse.GetValue(bookmarks) ?? EnvApply.DefaultBookmarksFile(set);
            EnvApply.Write(envPath, EnvApply.EnvironmentFile(set, entries));
            EnvApply.Write(bookmarkPath, EnvApply.BookmarksFile(set, entries));
            Console.WriteLine($"{entries.Count(e => e.Kind == EntryKind.Preference)} preferences → {envPath} (add '. {envPath}' to your shell profile)");
            Console.WriteLine($"{entries.Count(e => e.Kind is EntryKind.Site or EntryKind.Bookmark)} sites and bookmarks → {bookmarkPath} (Firefox: Import and Backup → Import Bookmarks from HTML; Chromium: chrome://settings/importData)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Quota()
    {
        var accept = new Option<bool>("--accept") { Description = "Accept the larger quota the server offers" };
        var decline = new Option<bool>("--decline") { Description = "Make room instead: remove the least recently used entries from the server (listed first; asks to confirm)" };
        var entries = new Option<long?>("--entries") { Description = "With --decline: entries to free (default: what the unsynced new entries need)" };
        var bytes = new Option<long?>("--bytes") { Description = "With --decline: bytes to free (default: what the unsynced new entries need)" };
        var yes = new Option<bool>("--yes") { Description = "With --decline: confirm without asking" };
        var command = new Command("quota", "Your quota on the server and its use; accept the offer when full, or decline and remove the least recently used") { accept, decline, entries, bytes, yes, CliSupport.JsonOption };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            using var session = await OpenAsync(parse, requireOnline: true, cancellationToken: ct).ConfigureAwait(false);
            var records = session.Records!;
            var quota = await records.QuotaAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(accept))
            {
                var offer = await records.OfferAsync(ct).ConfigureAwait(false) ?? throw new InvalidOperationException("no larger quota is on offer (the server maximum is reached); use --decline");
                quota = await records.AcceptQuotaAsync(new QuotaAcceptDto(offer.MaxBytes, offer.MaxEntries), ct).ConfigureAwait(false);
                Console.WriteLine("quota raised");
                Report(await session.Service.SyncAsync(ct).ConfigureAwait(false), "synced");
            }
            else if (parse.GetValue(decline))
            {
                var pending = session.Service.List().Where(e => e.Entry.Dirty && e.Entry.BaseRevision == 0).ToList();
                long needEntries = parse.GetValue(entries) ?? Math.Max(0, quota.UsedEntries + pending.Count - quota.MaxEntries);
                long needBytes = parse.GetValue(bytes) ?? Math.Max(0, quota.UsedBytes + pending.Sum(e => e.Entry.Entry!.Encode().Length + 160L) - quota.MaxBytes);
                var named = await records.DeclineQuotaAsync(new QuotaDeclineDto(needBytes, needEntries, false, null), ct).ConfigureAwait(false);
                if (named.Ids.Count == 0)
                {
                    Console.WriteLine("nothing to remove");
                    return ExitCodes.Ok;
                }

                Console.WriteLine($"least recently used, to be removed from the server ({named.Ids.Count}):");
                foreach (string id in named.Ids)
                {
                    Console.WriteLine($"  {session.Service.Find(id)?.Entry?.Name ?? id}");
                }

                if (!parse.GetValue(yes))
                {
                    if (Console.IsInputRedirected)
                    {
                        throw new UsageException("confirm with --yes");
                    }

                    Console.Error.Write("remove them? [y/N] ");
                    if (!string.Equals(Console.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase))
                    {
                        Console.WriteLine("nothing removed");
                        return ExitCodes.Ok;
                    }
                }

                var removed = await records.DeclineQuotaAsync(new QuotaDeclineDto(needBytes, needEntries, true, named.Ids), ct).ConfigureAwait(false);
                quota = removed.Quota;
                Report(await session.Service.SyncAsync(ct).ConfigureAwait(false), $"removed {removed.Ids.Count}");
            }

            if (parse.GetValue(CliSupport.JsonOption))
            {
                CliSupport.WriteJson(new { quota, offer = await records.OfferAsync(ct).ConfigureAwait(false) });
            }
            else
            {
                Console.WriteLine($"quota: {quota.UsedEntries} of {quota.MaxEntries} entries, {quota.UsedBytes} of {quota.MaxBytes} bytes");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// After 'cardkeep account replace-card': with CARDKEEP_RECORD_RECOVERY_CODE set, the new card signs in and the
    /// records are re-keyed for it at once; otherwise the step says to run 'cardkeep env rekey'.
    /// </summary>
    private sealed class ReplacementStep : ICardReplacementStep
    {
        public string Name => "personal environment";

        public async Task<string> RunAsync(CardReplacedContext context, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.Temporary)
            {
                return "a temporary card does not get the record keys; the original card keeps them";
            }

            if (Environment.GetEnvironmentVariable("CARDKEEP_RECORD_RECOVERY_CODE") is not { Length: > 0 } text)
            {
                return "run 'cardkeep env rekey --card … --recovery-code …' with the new card to re-wrap your records for it (the old card can no longer read them)";
            }

            byte[] code = RecoveryCodeText.Parse(text);
            try
            {
                using var accounts = new AccountClient(context.Server);
                byte[] nonce = await accounts.ChallengeAsync(context.Username, context.NewCard.Id, CardProofPurpose.Login, cancellationToken).ConfigureAwait(false);
                var signIn = await accounts.LoginCardAsync(context.Username, context.NewCard.Id, nonce,
                    context.NewCard.Prove(CardProofPurpose.Login, context.Username, nonce, context.NewCard.AuthenticationKey()), cancellationToken).ConfigureAwait(false);
                using var records = new RecordsClient(context.Server, signIn.Token);
                using var card = new PivEnvironmentCard(context.NewCard.Session, context.NewCard.Id, [], []);
                string folder = Environment.GetEnvironmentVariable("CARDKEEP_ENV_DIR") ?? LocalFolder.DefaultPath();
                using var service = new EnvironmentService(context.Username, card, card, 0, new LocalFolder(folder), records);
                byte[] newCode = await service.RekeyAsync(code, cancellationToken).ConfigureAwait(false);
                string shown = RecoveryCodeText.Format(newCode);
                CryptographicOperations.ZeroMemory(newCode);
                return $"records re-wrapped for the new card; NEW record recovery code (shown once): {shown}";
            }
            finally
            {
                CryptographicOperations.ZeroMemory(code);
            }
        }
    }
}
