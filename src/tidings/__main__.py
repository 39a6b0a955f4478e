from tidings.cli.main import app

app()
