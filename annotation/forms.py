"""Forms that parse and validate what annotators send; the workflow rules stay in services."""
from django import forms

from .models import Annotator


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        required=True,
        label="I have read the text above and agree to take part.",
        error_messages={"required": "Please tick the box to agree, or close the page if you do not want to take part."},
    )


class DemographicsForm(forms.ModelForm):
    class Meta:
        model = Annotator
        fields = ["age_group", "gender", "education", "prior_knowledge"]
        labels = {
            "age_group": "Your age",
            "gender": "Your gender",
            "education": "Your highest education",
            "prior_knowledge": "What did you know about deepfakes before this study?",
        }
        widgets = {name: forms.RadioSelect for name in fields}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = True
            field.choices = [c for c in field.choices if c[0] != ""]
            field.error_messages["required"] = "Please choose one answer."


class RatingInputForm(forms.Form):
    token = forms.CharField(max_length=500)
    score = forms.TypedChoiceField(
        choices=[(str(g), str(g)) for g in range(1, 6)],
        coerce=int,
        error_messages={"required": "Pick one of the five grades (keys 1 to 5).",
                        "invalid_choice": "Pick one of the five grades (keys 1 to 5)."},
    )
    reason = forms.CharField(required=False, max_length=2000, strip=True)
    played_to_end = forms.BooleanField(required=False)
    plays = forms.IntegerField(required=False, min_value=0, max_value=10_000)
    seeks = forms.IntegerField(required=False, min_value=0, max_value=100_000)
    fullscreen = forms.BooleanField(required=False)

    def first_error(self) -> str:
        for errors in self.errors.values():
            return errors[0]
        return "The answer could not be read. Reload the page."


class FinishForm(forms.Form):
    attempt = forms.IntegerField(min_value=1)
