namespace CardKeep.Agent.Daemon;

/// <summary>The ownership rule for every folder the agent puts a socket or a state file in.</summary>
internal static class SafeFolder
{
    /// <summary>
    /// Refuses a folder another user controls: it must belong to this uid or root, and a folder others may write to must
    /// have the sticky bit (as /tmp has), so that nobody else can remove or replace what the agent puts there.
    /// </summary>
    public static void Require(string directory)
    {
        var status = LibC.Status(directory) ?? throw new IOException($"cannot stat '{directory}'");
        uint self = LibC.GetEuid();
        const int GroupOrOtherWrite = 0x12; // 0020 | 0002
        const int Sticky = 0x200; // 01000
        if ((status.Mode & 0xF000) != 0x4000 || (status.Uid != self && status.Uid != 0)
            || ((status.Mode & GroupOrOtherWrite) != 0 && (status.Mode & Sticky) == 0))
        {
            throw new IOException($"'{directory}' is not a folder that only this user (or root) controls; refusing to use it");
        }
    }
}
