using CardKeep.Agent.Daemon;

namespace CardKeep.Agent.Tests.Daemon;

public sealed class CommandTemplateTests
{
    [Fact]
    public void Parse_QuotesAndEscapes_SplitLikeAShell()
    {
        var template = CommandTemplate.Parse("loginctl  terminate-session '{logind_session}' \"a b\" c\\ d");
        Assert.Equal(["loginctl", "terminate-session", "{logind_session}", "a b", "c d"], template.Arguments);
    }

    [Fact]
    public void Expand_ValueWithSpacesAndShellCharacters_StaysOneArgument()
    {
        var template = CommandTemplate.Parse("echo {user}");
        var argv = template.Expand(new Dictionary<string, string> { ["user"] = "x; rm -rf / $(id)" });
        Assert.Equal(["echo", "x; rm -rf / $(id)"], argv);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("echo 'open")]
    public void Parse_EmptyOrUnclosed_Throws(string line) => Assert.Throws<ArgumentException>(() => CommandTemplate.Parse(line));

    [Fact]
    public async Task RunAsync_ExitCode_IsReturned()
    {
        Assert.Equal(0, await CommandTemplate.Parse("/bin/true").RunAsync(new Dictionary<string, string>(), TimeSpan.FromSeconds(10)));
        Assert.Equal(3, await CommandTemplate.Parse("/bin/sh -c 'exit {code}'").RunAsync(new Dictionary<string, string> { ["code"] = "3" }, TimeSpan.FromSeconds(10)));
    }
}
