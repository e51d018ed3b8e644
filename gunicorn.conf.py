"""gunicorn reads this file from the working directory by itself; the Procfile's flags still
say how the web process binds and how many workers it runs."""


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # jieba's dictionary takes ~0.5 s to load: pay it when the worker boots, not on the first
    # seller's search.
    from search.analysis import warm_up

    warm_up()
