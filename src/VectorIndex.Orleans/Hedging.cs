namespace VectorIndex.Orleans;

/// <summary>
/// The two pieces the hedged requests share (the coordinator over a shard's replicas, the client over coordinators):
/// waiting for the first of several calls with a time limit, and letting go of calls whose outcome no longer matters.
/// </summary>
internal static class Hedging
{
    /// <summary>The first of <paramref name="calls"/> to complete (successfully or not), or null when <paramref name="wait"/> passes first.</summary>
    public static Task<Task<T>?> FirstOrNoneAsync<T>(List<Task<T>> calls, TimeSpan wait) =>
        Task.WhenAny(calls).WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero)
            .ContinueWith(static t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);

    /// <summary>Lets calls run on unobserved: their outcome no longer matters, but a fault must be observed.</summary>
    public static void Forget(IEnumerable<Task> calls)
    {
        foreach (var call in calls)
        {
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }
}
