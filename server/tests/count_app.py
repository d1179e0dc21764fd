# The app of seed 003: a prometheus_client Counter named `count` (exposed as `count_total` and
# `count_created`). The seed increments it by 0.1 after random sleeps; here each GET /inc
# increments it by 0.1 so a test knows the value. Usage: count_app.py HOST PORT
import http.server
import sys

from prometheus_client import Counter, exposition

c = Counter('count', 'Description of counter')


class Handler(exposition.MetricsHandler):
    def do_GET(self):
        if self.path == '/inc':
            c.inc(0.1)
            self.send_response(200)
            self.send_header('Content-type', 'text/plain')
            self.end_headers()
            self.wfile.write(b'ok')
            return
        return super().do_GET()

    def log_message(self, *args):
        pass


if __name__ == '__main__':
    httpd = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    httpd.serve_forever()
