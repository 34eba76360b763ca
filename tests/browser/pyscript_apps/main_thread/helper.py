def greeting() -> str:
    return "hello from helper.py"
