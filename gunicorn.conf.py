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
