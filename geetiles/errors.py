"""The one exception type that means "the user's input is wrong" (exit status 2, one line)."""


class UserInputError(Exception):
    """Bad input from the user: the message names the problem and the fix, on one line.

    Entry points turn it into ``geetiles: error: <message>`` and exit status 2, without a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class RunFailed(Exception):
    """The run finished its work but some of it failed (chips listed in failures.csv): exit status 1.

    Everything that succeeded is on disk and recorded; rerunning resumes with what is missing.
    """

    exit_code = 1
