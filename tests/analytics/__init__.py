"""Tests for vigilcam.analytics (motion and tamper detection)."""
