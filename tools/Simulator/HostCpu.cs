using System.Globalization;

namespace VoiceAgent.Simulator;

/// <summary>
/// The machine's CPU time from /proc/stat (Linux): how much of it the hypervisor gave to other guests ("steal")
/// while a load run measured. Stolen time stalls the service and the simulator alike, so it is printed with the
/// latencies. Null where /proc/stat is not there.
/// </summary>
internal readonly record struct HostCpu(long Steal, long Total)
{
    public static HostCpu? Sample()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            return Parse(reader.ReadLine());
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The aggregate "cpu" line: user nice system idle iowait irq softirq steal …, in clock ticks.</summary>
    public static HostCpu? Parse(string? line)
    {
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is null || fields.Length < 9 || fields[0] != "cpu")
        {
            return null;
        }

        long total = 0;
        for (var i = 1; i < Math.Min(fields.Length, 9); i++)
        {
            total += long.Parse(fields[i], CultureInfo.InvariantCulture);
        }

        return new HostCpu(long.Parse(fields[8], CultureInfo.InvariantCulture), total);
    }

    /// <summary>Stolen share of the CPU time between two samples, in percent; NaN without both.</summary>
    public static double StealPercent(HostCpu? from, HostCpu? to) =>
        from is { } a && to is { } b && b.Total > a.Total ? 100.0 * (b.Steal - a.Steal) / (b.Total - a.Total) : double.NaN;
}
