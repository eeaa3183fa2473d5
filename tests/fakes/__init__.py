"""Test doubles for the services lagbot talks to: Telegram, Twilio, SMS Gateway for Android."""
