# The sample app of seed 000 ("requests_count" counter with an "endpoint" label, /foo and /bar),
# unchanged except that the port comes from the command line instead of a fixed 9191.
import http.server
import sys

from prometheus_client import Counter, exposition

COUNTER_NAME = 'requests_count'
REQUESTS_COUNT = Counter(COUNTER_NAME, 'Count', ['endpoint'])


class RequestsHandler(exposition.MetricsHandler):
    def do_GET(self):
        if self.path not in ('/foo', '/bar', '/metrics'):
            self.send_response(404)
            self.send_header('Content-type', 'text/plain')
            self.end_headers()
            self.wfile.write('404: Not found'.encode())
            return
        if self.path in ('/foo', '/bar'):
            REQUESTS_COUNT.labels(endpoint=self.path).inc()
            self.send_response(200)
            self.send_header('Content-type', 'text/plain')
            self.end_headers()
            self.wfile.write(f'Current count: [{self.path}]'.encode())
        else:
            return super().do_GET()

    def log_message(self, *args):
        pass


if __name__ == '__main__':
    for path in ('/foo', '/bar'):
        REQUESTS_COUNT.labels(endpoint=path)
    httpd = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), RequestsHandler)
    httpd.serve_forever()
