# A TCP listener that never accepts, with its accept queue filled, so that a further connect
# to it gets no answer at all (the kernel drops the SYN): a black-holed endpoint on loopback.
# Prints the port, then waits until stdin closes.
import socket
import sys

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]
fillers = []
for _ in range(4):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fillers.append(s)
print(port, flush=True)
sys.stdin.read()
