namespace Sidecars.Testing.Http;

/// <summary>What an HTTP endpoint answers, for waits on a server that may not be listening yet.</summary>
public static class HttpStatus
{
    /// <summary>The status code of a GET of <paramref name="url"/>, or null while nothing answers.</summary>
    public static async Task<int?> TryGetAsync(HttpClient http, Uri url)
    {
        ArgumentNullException.ThrowIfNull(http);
        try
        {
            using var response = await http.GetAsync(url);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
