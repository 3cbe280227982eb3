"""The API's resources: one module per resource, its blueprint and schemas side by side.

Each module exposes ``blp``; ``api.app.BLUEPRINTS`` lists the ones the app serves.
"""
