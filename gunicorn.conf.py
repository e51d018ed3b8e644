"""gunicorn reads this file from the working directory by itself; the Procfile's flags still
say how the web process binds and how many workers it runs."""

import os

# gunicorn 25+ opens a control socket for `gunicornc` at $HOME/.gunicorn/gunicorn.ctl unless
# told otherwise: one path for every instance on the host, so the last master started takes it
# over and a SIGKILLed one leaves it behind. Nothing here uses gunicornc, so it is off; to use
# it, give this instance a path of its own in GUNICORN_CONTROL_SOCKET.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# Idle keep-alive connections wait in gthread's poller, not in a thread, so a long keep-alive
# is cheap. It must outlast nginx's upstream keepalive_timeout (60 s, deploy/): then nginx,
# never gunicorn, closes an idle connection, and no request is ever sent down a connection
# gunicorn is closing at that instant (gunicorn's default is 2 s).
keepalive = 75


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # jieba's dictionary takes ~0.5 s to load, the card renderer's imports and fontconfig
    # lookup ~0.1 s: pay them when the worker boots, not on the first seller's request.
    from media.cards import find_cjk_font
    from search.analysis import warm_up

    warm_up()
    find_cjk_font()
    _closes_its_listeners_when_orphaned(worker)


def _closes_its_listeners_when_orphaned(worker):  # noqa: ANN001, ANN202
    # A worker whose master died (SIGKILL, OOM) notices within a second, stops accepting and
    # finishes what it holds for up to graceful_timeout (30 s), but keeps the listening socket
    # open. Until a new master binds the path again, nginx still connects to that socket: the
    # connections wait in its backlog, never accepted, and fail only when the orphan exits
    # 30 s later (the fault drill, bench/drill.py, saw uploads hang so). Closed at once, a
    # connect is refused and nginx answers 502 straight away; a client retries. gunicorn has
    # no hook for this moment, so the worker's own check is wrapped: it runs in the worker's
    # main loop, the thread that accepts, so nothing accepts on a socket closed under it.
    # Only the socket itself is closed, never the path (it is the new master's by now).
    # gthread also leaves `alive` set when it stops for its parent (not for SIGTERM), and then
    # keeps nginx's kept-alive connections for their whole keep-alive (75 s, capped by the 30 s
    # grace) instead of 2 s: nginx goes on sending requests to the orphan until it exits,
    # and those in flight then fail. Cleared here, the orphan stops as on a SIGTERM.
    parent_alive = worker.is_parent_alive

    def is_parent_alive() -> bool:
        if parent_alive():
            return True
        worker.alive = False
        for listener in worker.sockets:
            listener.sock.close()  # the wrapper keeps its (closed) socket for gunicorn's cleanup
        return False

    worker.is_parent_alive = is_parent_alive
