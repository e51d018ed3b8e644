"""gunicorn reads this file from the working directory by itself; the Procfile's flags still
say how the web process binds and how many workers it runs."""


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # jieba's dictionary takes ~0.5 s to load, the card renderer's imports and fontconfig
    # lookup ~0.1 s: pay them when the worker boots, not on the first seller's request.
    from media.cards import find_cjk_font
    from search.analysis import warm_up

    warm_up()
    find_cjk_font()
