from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Customer")

_FIELDS = (
    "CustomerID",
    "Email",
    "Password",
    "BillingCompany",
    "BillingFirstName",
    "BillingLastName",
    "BillingAddress1",
    "BillingAddress2",
    "BillingCity",
    "BillingState",
    "BillingZipCode",
    "BillingCountry",
    "BillingPhoneNumber",
    "BillingTaxID",
    "ShippingCompany",
    "ShippingFirstName",
    "ShippingLastName",
    "ShippingAddress1",
    "ShippingAddress2",
    "ShippingCity",
    "ShippingState",
    "ShippingZipCode",
    "ShippingCountry",
    "ShippingPhoneNumber",
    "ShippingAddressType",
    "CustomerGroupID",
    "Enabled",
    "MailList",
    "NonTaxable",
    "DisableBillingSameAsShipping",
    "Comments",
    "AdditionalField1",
    "AdditionalField2",
    "AdditionalField3",
    "TotalStoreCredit",
    "ResetPassword",
)
"""The JSON names of the fields, in the order of `__init__`'s parameters."""
_FIELD_VALUES = itemgetter(*_FIELDS)
_OPTIONAL_FIELDS: dict[str, Any] = {
    "CustomerID": UNSET,
    "Email": UNSET,
    "Password": UNSET,
    "BillingCompany": UNSET,
    "BillingFirstName": UNSET,
    "BillingLastName": UNSET,
    "BillingAddress1": UNSET,
    "BillingAddress2": UNSET,
    "BillingCity": UNSET,
    "BillingState": UNSET,
    "BillingZipCode": UNSET,
    "BillingCountry": UNSET,
    "BillingPhoneNumber": UNSET,
    "BillingTaxID": UNSET,
    "ShippingCompany": UNSET,
    "ShippingFirstName": UNSET,
    "ShippingLastName": UNSET,
    "ShippingAddress1": UNSET,
    "ShippingAddress2": UNSET,
    "ShippingCity": UNSET,
    "ShippingState": UNSET,
    "ShippingZipCode": UNSET,
    "ShippingCountry": UNSET,
    "ShippingPhoneNumber": UNSET,
    "ShippingAddressType": UNSET,
    "CustomerGroupID": UNSET,
    "Enabled": UNSET,
    "MailList": UNSET,
    "NonTaxable": UNSET,
    "DisableBillingSameAsShipping": UNSET,
    "Comments": UNSET,
    "AdditionalField1": UNSET,
    "AdditionalField2": UNSET,
    "AdditionalField3": UNSET,
    "TotalStoreCredit": UNSET,
    "ResetPassword": UNSET,
}
"""UNSET for each optional field, under the values of a dict (`_OPTIONAL_FIELDS | d`)."""
_FIELD_NAMES = frozenset(_FIELDS)


@_attrs_define
class Customer:
    """A customer of the store. Every field is optional: responses of the real
    service omit some keys and carry `null` strings, and an update sends only
    the fields it changes.

        Example:
            {'CustomerID': 1234, 'Email': 'jane.doe@example.com', 'Password': '', 'BillingCompany': 'Doe Marine Supply',
                'BillingFirstName': 'Jane', 'BillingLastName': 'Doe', 'BillingAddress1': '401 Channelside Dr',
                'BillingAddress2': 'Suite 210', 'BillingCity': 'Tampa', 'BillingState': 'FL', 'BillingZipCode': '33602',
                'BillingCountry': 'US', 'BillingPhoneNumber': '813-555-0142', 'BillingTaxID': '59-1234567', 'ShippingCompany':
                'Doe Marine Supply', 'ShippingFirstName': 'Jane', 'ShippingLastName': 'Doe', 'ShippingAddress1': '1200 Bayshore
                Blvd', 'ShippingAddress2': None, 'ShippingCity': 'Tampa', 'ShippingState': 'FL', 'ShippingZipCode': '33606',
                'ShippingCountry': 'US', 'ShippingPhoneNumber': '813-555-0199', 'ShippingAddressType': 1, 'CustomerGroupID': 2,
                'Enabled': True, 'MailList': True, 'NonTaxable': False, 'DisableBillingSameAsShipping': True, 'Comments':
                'Prefers delivery before noon.', 'AdditionalField1': 'Wholesale account', 'AdditionalField2': '',
                'AdditionalField3': '', 'TotalStoreCredit': 25.5, 'ResetPassword': False}

    """

    customer_id: int | Unset = UNSET
    """ Primary key, assigned by the store. Not part of a create body (`CustomerCreate` has
    no CustomerID; the service ignores one sent), ignored in the body of an update-one
    (the path selects the record), required in each item of a bulk update
    (`CustomerUpdateItem`), where it selects the record.
     """
    email: None | str | Unset = UNSET
    """ Email address, the customer's login. Required on create. """
    password: None | str | Unset = UNSET
    """ Password. Required on create, where an empty string is accepted. """
    billing_company: None | str | Unset = UNSET
    """ Billing company. """
    billing_first_name: None | str | Unset = UNSET
    """ Billing first name. """
    billing_last_name: None | str | Unset = UNSET
    """ Billing last name. """
    billing_address_1: None | str | Unset = UNSET
    """ Billing address, first line. """
    billing_address_2: None | str | Unset = UNSET
    """ Billing address, second line. """
    billing_city: None | str | Unset = UNSET
    """ Billing city. """
    billing_state: None | str | Unset = UNSET
    """ Billing state or province. """
    billing_zip_code: None | str | Unset = UNSET
    """ Billing ZIP or postal code. """
    billing_country: None | str | Unset = UNSET
    """ Billing country. """
    billing_phone_number: None | str | Unset = UNSET
    """ Billing phone number. """
    billing_tax_id: None | str | Unset = UNSET
    """ Billing tax id. """
    shipping_company: None | str | Unset = UNSET
    """ Shipping company. """
    shipping_first_name: None | str | Unset = UNSET
    """ Shipping first name. """
    shipping_last_name: None | str | Unset = UNSET
    """ Shipping last name. """
    shipping_address_1: None | str | Unset = UNSET
    """ Shipping address, first line. """
    shipping_address_2: None | str | Unset = UNSET
    """ Shipping address, second line. """
    shipping_city: None | str | Unset = UNSET
    """ Shipping city. """
    shipping_state: None | str | Unset = UNSET
    """ Shipping state or province. """
    shipping_zip_code: None | str | Unset = UNSET
    """ Shipping ZIP or postal code. """
    shipping_country: None | str | Unset = UNSET
    """ Shipping country. """
    shipping_phone_number: None | str | Unset = UNSET
    """ Shipping phone number. """
    shipping_address_type: int | Unset = UNSET
    """ Shipping address type (residential or commercial, as the store codes it). """
    customer_group_id: int | Unset = UNSET
    """ The customer group the customer belongs to. """
    enabled: bool | Unset = UNSET
    """ Whether the customer's account is enabled. """
    mail_list: bool | Unset = UNSET
    """ Whether the customer subscribed to the mailing list. """
    non_taxable: bool | Unset = UNSET
    """ Whether the customer is exempt from tax. """
    disable_billing_same_as_shipping: bool | Unset = UNSET
    """ Whether the billing address differs from the shipping address. """
    comments: None | str | Unset = UNSET
    """ Merchant's comments on the customer. """
    additional_field_1: None | str | Unset = UNSET
    """ Additional field 1. """
    additional_field_2: None | str | Unset = UNSET
    """ Additional field 2. """
    additional_field_3: None | str | Unset = UNSET
    """ Additional field 3. """
    total_store_credit: float | Unset = UNSET
    """ The customer's store credit, computed by the store. """
    reset_password: bool | Unset = UNSET
    """ Whether the customer must reset the password at the next login. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        customer_id = self.customer_id

        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        password: None | str | Unset
        if isinstance(self.password, Unset):
            password = UNSET
        else:
            password = self.password

        billing_company: None | str | Unset
        if isinstance(self.billing_company, Unset):
            billing_company = UNSET
        else:
            billing_company = self.billing_company

        billing_first_name: None | str | Unset
        if isinstance(self.billing_first_name, Unset):
            billing_first_name = UNSET
        else:
            billing_first_name = self.billing_first_name

        billing_last_name: None | str | Unset
        if isinstance(self.billing_last_name, Unset):
            billing_last_name = UNSET
        else:
            billing_last_name = self.billing_last_name

        billing_address_1: None | str | Unset
        if isinstance(self.billing_address_1, Unset):
            billing_address_1 = UNSET
        else:
            billing_address_1 = self.billing_address_1

        billing_address_2: None | str | Unset
        if isinstance(self.billing_address_2, Unset):
            billing_address_2 = UNSET
        else:
            billing_address_2 = self.billing_address_2

        billing_city: None | str | Unset
        if isinstance(self.billing_city, Unset):
            billing_city = UNSET
        else:
            billing_city = self.billing_city

        billing_state: None | str | Unset
        if isinstance(self.billing_state, Unset):
            billing_state = UNSET
        else:
            billing_state = self.billing_state

        billing_zip_code: None | str | Unset
        if isinstance(self.billing_zip_code, Unset):
            billing_zip_code = UNSET
        else:
            billing_zip_code = self.billing_zip_code

        billing_country: None | str | Unset
        if isinstance(self.billing_country, Unset):
            billing_country = UNSET
        else:
            billing_country = self.billing_country

        billing_phone_number: None | str | Unset
        if isinstance(self.billing_phone_number, Unset):
            billing_phone_number = UNSET
        else:
            billing_phone_number = self.billing_phone_number

        billing_tax_id: None | str | Unset
        if isinstance(self.billing_tax_id, Unset):
            billing_tax_id = UNSET
        else:
            billing_tax_id = self.billing_tax_id

        shipping_company: None | str | Unset
        if isinstance(self.shipping_company, Unset):
            shipping_company = UNSET
        else:
            shipping_company = self.shipping_company

        shipping_first_name: None | str | Unset
        if isinstance(self.shipping_first_name, Unset):
            shipping_first_name = UNSET
        else:
            shipping_first_name = self.shipping_first_name

        shipping_last_name: None | str | Unset
        if isinstance(self.shipping_last_name, Unset):
            shipping_last_name = UNSET
        else:
            shipping_last_name = self.shipping_last_name

        shipping_address_1: None | str | Unset
        if isinstance(self.shipping_address_1, Unset):
            shipping_address_1 = UNSET
        else:
            shipping_address_1 = self.shipping_address_1

        shipping_address_2: None | str | Unset
        if isinstance(self.shipping_address_2, Unset):
            shipping_address_2 = UNSET
        else:
            shipping_address_2 = self.shipping_address_2

        shipping_city: None | str | Unset
        if isinstance(self.shipping_city, Unset):
            shipping_city = UNSET
        else:
            shipping_city = self.shipping_city

        shipping_state: None | str | Unset
        if isinstance(self.shipping_state, Unset):
            shipping_state = UNSET
        else:
            shipping_state = self.shipping_state

        shipping_zip_code: None | str | Unset
        if isinstance(self.shipping_zip_code, Unset):
            shipping_zip_code = UNSET
        else:
            shipping_zip_code = self.shipping_zip_code

        shipping_country: None | str | Unset
        if isinstance(self.shipping_country, Unset):
            shipping_country = UNSET
        else:
            shipping_country = self.shipping_country

        shipping_phone_number: None | str | Unset
        if isinstance(self.shipping_phone_number, Unset):
            shipping_phone_number = UNSET
        else:
            shipping_phone_number = self.shipping_phone_number

        shipping_address_type = self.shipping_address_type

        customer_group_id = self.customer_group_id

        enabled = self.enabled

        mail_list = self.mail_list

        non_taxable = self.non_taxable

        disable_billing_same_as_shipping = self.disable_billing_same_as_shipping

        comments: None | str | Unset
        if isinstance(self.comments, Unset):
            comments = UNSET
        else:
            comments = self.comments

        additional_field_1: None | str | Unset
        if isinstance(self.additional_field_1, Unset):
            additional_field_1 = UNSET
        else:
            additional_field_1 = self.additional_field_1

        additional_field_2: None | str | Unset
        if isinstance(self.additional_field_2, Unset):
            additional_field_2 = UNSET
        else:
            additional_field_2 = self.additional_field_2

        additional_field_3: None | str | Unset
        if isinstance(self.additional_field_3, Unset):
            additional_field_3 = UNSET
        else:
            additional_field_3 = self.additional_field_3

        total_store_credit = self.total_store_credit

        reset_password = self.reset_password

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if customer_id is not UNSET:
            field_dict["CustomerID"] = customer_id
        if email is not UNSET:
            field_dict["Email"] = email
        if password is not UNSET:
            field_dict["Password"] = password
        if billing_company is not UNSET:
            field_dict["BillingCompany"] = billing_company
        if billing_first_name is not UNSET:
            field_dict["BillingFirstName"] = billing_first_name
        if billing_last_name is not UNSET:
            field_dict["BillingLastName"] = billing_last_name
        if billing_address_1 is not UNSET:
            field_dict["BillingAddress1"] = billing_address_1
        if billing_address_2 is not UNSET:
            field_dict["BillingAddress2"] = billing_address_2
        if billing_city is not UNSET:
            field_dict["BillingCity"] = billing_city
        if billing_state is not UNSET:
            field_dict["BillingState"] = billing_state
        if billing_zip_code is not UNSET:
            field_dict["BillingZipCode"] = billing_zip_code
        if billing_country is not UNSET:
            field_dict["BillingCountry"] = billing_country
        if billing_phone_number is not UNSET:
            field_dict["BillingPhoneNumber"] = billing_phone_number
        if billing_tax_id is not UNSET:
            field_dict["BillingTaxID"] = billing_tax_id
        if shipping_company is not UNSET:
            field_dict["ShippingCompany"] = shipping_company
        if shipping_first_name is not UNSET:
            field_dict["ShippingFirstName"] = shipping_first_name
        if shipping_last_name is not UNSET:
            field_dict["ShippingLastName"] = shipping_last_name
        if shipping_address_1 is not UNSET:
            field_dict["ShippingAddress1"] = shipping_address_1
        if shipping_address_2 is not UNSET:
            field_dict["ShippingAddress2"] = shipping_address_2
        if shipping_city is not UNSET:
            field_dict["ShippingCity"] = shipping_city
        if shipping_state is not UNSET:
            field_dict["ShippingState"] = shipping_state
        if shipping_zip_code is not UNSET:
            field_dict["ShippingZipCode"] = shipping_zip_code
        if shipping_country is not UNSET:
            field_dict["ShippingCountry"] = shipping_country
        if shipping_phone_number is not UNSET:
            field_dict["ShippingPhoneNumber"] = shipping_phone_number
        if shipping_address_type is not UNSET:
            field_dict["ShippingAddressType"] = shipping_address_type
        if customer_group_id is not UNSET:
            field_dict["CustomerGroupID"] = customer_group_id
        if enabled is not UNSET:
            field_dict["Enabled"] = enabled
        if mail_list is not UNSET:
            field_dict["MailList"] = mail_list
        if non_taxable is not UNSET:
            field_dict["NonTaxable"] = non_taxable
        if disable_billing_same_as_shipping is not UNSET:
            field_dict["DisableBillingSameAsShipping"] = disable_billing_same_as_shipping
        if comments is not UNSET:
            field_dict["Comments"] = comments
        if additional_field_1 is not UNSET:
            field_dict["AdditionalField1"] = additional_field_1
        if additional_field_2 is not UNSET:
            field_dict["AdditionalField2"] = additional_field_2
        if additional_field_3 is not UNSET:
            field_dict["AdditionalField3"] = additional_field_3
        if total_store_credit is not UNSET:
            field_dict["TotalStoreCredit"] = total_store_credit
        if reset_password is not UNSET:
            field_dict["ResetPassword"] = reset_password

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = src_dict if type(src_dict) is dict else dict(src_dict)
        if len(d) == 36:
            try:  # every field and nothing else: the usual answer
                return cls(*_FIELD_VALUES(d))
            except KeyError:
                pass
        field_values_ = _OPTIONAL_FIELDS | d
        customer = cls(*_FIELD_VALUES(field_values_))
        if len(field_values_) != 36:
            customer.additional_properties = {k: v for k, v in d.items() if k not in _FIELD_NAMES}
        return customer

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
