from sopflow.cli import app

app()
