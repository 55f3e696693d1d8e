"""Executions: the one owner of a run's lifecycle.

Nothing else creates, claims or ends an execution row, and every change of
its status goes through the moves of core/statuses.py. The API side and the
worker share no memory: they meet in the database and on the event bus, so
either may run in another process.

    service.py    what the API side calls: get, list, submit, cancel, wait, follow
    submit.py     the checks every submission passes (a run, a tick, a batch)
    lifecycle.py  the one writer of status: create, claim, finish, cancel, lose
    queue.py      claiming the oldest queued row (the queue is the table)
    retries.py    the next attempt of a run that ended as its retry policy says
    concurrency.py a script's own limit on its runs at once
    waiting.py    why a queued row is not running yet
    follow.py     waiting for and following an execution's events
    output.py     what a running execution printed so far (bus, then database)
    history.py    listing past executions, newest first, by cursor
"""
