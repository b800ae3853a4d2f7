namespace CardKeep.Interop.Tests.Harness;

/// <summary>Runs the real <c>cardkeep</c> program (the build next to the tests) as a child process.</summary>
public static class CardKeepCli
{
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "cardkeep.dll");

    public static Task<ProcessResult> RunAsync(params string[] args) => RunAsync(args, null, null, null);

    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, IDictionary<string, string?>? environment, string? stdin = null, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync("dotnet", new[] { DllPath }.Concat(args), environment, stdin, timeout);
}
