/* A service with nothing else in its image: a static binary that answers GET /health with
   the contract's body, for the selftest that judges an image with no Python and no shell.
   healthd NAME PORT      listens on 0.0.0.0:PORT, one request per connection
   healthd --check PORT   the image's own healthcheck: exit 0 when 127.0.0.1:PORT/health answers 200 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int check(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons((unsigned short)port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
    const char *req = "GET /health HTTP/1.0\r\n\r\n";
    char resp[64] = {0};
    if (write(s, req, strlen(req)) < 0 || read(s, resp, sizeof resp - 1) < 12) return 1;
    return strncmp(resp + 9, "200", 3) != 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: healthd NAME PORT | healthd --check PORT\n"); return 2; }
    if (strcmp(argv[1], "--check") == 0) return check(atoi(argv[2]));
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons((unsigned short)atoi(argv[2])); a.sin_addr.s_addr = INADDR_ANY;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64)) { perror("healthd: bind"); return 1; }
    printf("healthd: %s on port %s\n", argv[1], argv[2]); fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        char req[2048] = {0}, body[256], resp[512];
        ssize_t n = read(c, req, sizeof req - 1);
        int ok = n > 0 && strncmp(req, "GET /health ", 12) == 0;
        snprintf(body, sizeof body, ok ? "{\"status\": \"ok\", \"service\": \"%s\", \"version\": \"distroless\"}"
                                       : "{\"error\": \"not found\"}", argv[1]);
        int len = snprintf(resp, sizeof resp, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n%s", ok ? "200 OK" : "404 Not Found", strlen(body), body);
        if (write(c, resp, (size_t)len) < 0) { /* the client went away */ }
        close(c);
    }
}
